// gpu.js, loaded lazily, and what it really runs on.
//
// gpu.js is an optional peer dependency: nothing here imports it statically, so the SDK loads
// and runs without it. Its "mode" is not the backend: in a browser `new GPU().mode` says 'gpu'
// while kernels run on WebGL2Kernel, and in Node without headless-gl it quietly runs kernels in
// its own WebAssembly mode ('webasm'), ~20x slower than the NovaRL core. So the backend is
// read from the class of a kernel that has actually run (with instanceof, which survives
// minified builds where class names do not).

/** The part of gpu.js this package uses (typed here so gpu.js's own types are never needed). */
export interface GpuJsModule {
  GPU: new (settings?: { mode?: string }) => GpuJsInstance;
  HeadlessGLKernel?: abstract new (...args: never[]) => unknown;
  WebGL2Kernel?: abstract new (...args: never[]) => unknown;
  WebGLKernel?: abstract new (...args: never[]) => unknown;
  WebGPUKernel?: abstract new (...args: never[]) => unknown;
  WebAssemblyKernel?: abstract new (...args: never[]) => unknown;
  CPUKernel?: abstract new (...args: never[]) => unknown;
}

export interface GpuJsInstance {
  mode: string;
  createKernel(source: string, settings: GpuJsKernelSettings): GpuJsKernel;
  destroy(): unknown;
}

export interface GpuJsKernelSettings {
  output: number[];
  constants?: Record<string, number>;
  precision?: 'single' | 'unsigned';
  /** Return a GPU texture instead of reading the result back (feeds another kernel). */
  pipeline?: boolean;
  tactic?: 'speed' | 'balanced' | 'precision';
}

/** A compiled kernel: call it with the arguments; `.kernel` is the backend object that ran. */
export interface GpuJsKernel {
  (...args: unknown[]): unknown;
  kernel: object;
  destroy?(removeCanvasReferences?: boolean): void;
}

/** Where gpu.js kernels run. Only the GL backends are real GPUs for this package. */
export type GpuBackendName = 'headlessgl' | 'webgl2' | 'webgl' | 'webgpu' | 'webasm' | 'cpu' | 'none' | 'unknown';

export const GL_BACKENDS: readonly GpuBackendName[] = ['headlessgl', 'webgl2', 'webgl'];

export interface GpuBackendInfo {
  name: GpuBackendName;
  /** A GL backend (WebGL2, WebGL, headless-gl): kernels run as shaders, maybe on a GPU. */
  gl: boolean;
  /** The GL renderer string when the context reveals it, e.g. 'ANGLE (... SwiftShader ...)'. */
  renderer?: string;
  /** The renderer is a known software rasteriser (SwiftShader, llvmpipe, softpipe). */
  software: boolean;
  /** GL MAX_TEXTURE_SIZE: the largest output dimension a kernel can have. */
  maxTextureSize?: number;
  /** Why this backend was found, or why none could be used. */
  detail: string;
}

const SOFTWARE_RENDERERS = /swiftshader|llvmpipe|softpipe|software rasterizer|microsoft basic render/i;

/**
 * The gpu.js module: the one given, else a browser global from a <script> tag (gpu-browser.js
 * sets `GPU`, whose `GPU.GPU` is the class), else `import('gpu.js')`. null when none exists.
 */
export async function loadGpuJs(given?: GpuJsModule | null): Promise<GpuJsModule | null> {
  if (given !== undefined) return given;
  const global = (globalThis as { GPU?: Partial<GpuJsModule> }).GPU;
  if (global && typeof global.GPU === 'function') return global as GpuJsModule;
  try {
    const mod = (await import('gpu.js')) as unknown as GpuJsModule & { default?: GpuJsModule };
    // gpu.js is CommonJS: Node puts its exports on `default`, bundlers may spread them.
    const ns = typeof mod.GPU === 'function' ? mod : mod.default;
    return ns && typeof ns.GPU === 'function' ? ns : null;
  } catch {
    return null; // not installed: the WASM core does everything
  }
}

// A kernel small enough to build and run anywhere in milliseconds.
const PROBE_KERNEL = `function probe(x) {
  return x[this.thread.x] * 2;
}`;

/**
 * Builds and runs a probe kernel and reports the backend that ran it. gpu.js falls back to
 * its CPU kernel when a shader fails to compile, so the class is read after the run.
 */
export function detectBackend(gpujs: GpuJsModule, gpu: GpuJsInstance): GpuBackendInfo {
  let kernel: GpuJsKernel | undefined;
  try {
    kernel = gpu.createKernel(PROBE_KERNEL, { output: [4], precision: 'single' });
    const out = kernel(new Float32Array([1, 2, 3, 4])) as ArrayLike<number>;
    if (out[0] !== 2 || out[3] !== 8) {
      return { name: 'unknown', gl: false, software: false, detail: `the probe kernel returned wrong values (${Array.from(out).join(', ')})` };
    }
    const name = backendOf(gpujs, kernel);
    const gl = GL_BACKENDS.includes(name);
    const context = gl ? contextOf(kernel) : undefined;
    const renderer = context ? rendererOf(context) : undefined;
    const maxTextureSize = context ? maxTextureSizeOf(context) : undefined;
    const software = renderer !== undefined && SOFTWARE_RENDERERS.test(renderer);
    const detail = gl
      ? `gpu.js runs kernels on ${name}${renderer ? ` (${renderer})` : ''}`
      : `gpu.js runs kernels in its ${name} mode, not on a GPU${name === 'webasm' || name === 'cpu' ? ' (in Node: no headless-gl; see docs/gpu.md)' : ''}`;
    return { name, gl, renderer, software, maxTextureSize, detail };
  } catch (error) {
    return { name: 'unknown', gl: false, software: false, detail: `the gpu.js probe kernel failed: ${(error as Error).message}` };
  } finally {
    kernel?.destroy?.();
  }
}

/** The backend of a kernel that has run (gpu.js may have swapped it for a CPU fallback). */
export function backendOf(gpujs: GpuJsModule, kernel: GpuJsKernel): GpuBackendName {
  const k = kernel.kernel;
  const classes: [GpuBackendName, GpuJsModule[keyof GpuJsModule]][] = [
    // HeadlessGLKernel extends WebGLKernel, so it is tested first.
    ['headlessgl', gpujs.HeadlessGLKernel],
    ['webgl2', gpujs.WebGL2Kernel],
    ['webgl', gpujs.WebGLKernel],
    ['webgpu', gpujs.WebGPUKernel],
    ['webasm', gpujs.WebAssemblyKernel],
    ['cpu', gpujs.CPUKernel],
  ];
  for (const [name, cls] of classes) {
    if (typeof cls === 'function' && k instanceof (cls as abstract new (...args: never[]) => unknown)) return name;
  }
  return 'unknown';
}

function contextOf(kernel: GpuJsKernel): WebGLRenderingContext | undefined {
  const gl = (kernel.kernel as { context?: WebGLRenderingContext | null }).context;
  return gl && typeof gl.getParameter === 'function' ? gl : undefined;
}

/** The unmasked GL renderer string, where the context exposes it. */
function rendererOf(gl: WebGLRenderingContext): string | undefined {
  try {
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const value = info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

function maxTextureSizeOf(gl: WebGLRenderingContext): number | undefined {
  try {
    const value = gl.getParameter(gl.MAX_TEXTURE_SIZE);
    return typeof value === 'number' && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}
