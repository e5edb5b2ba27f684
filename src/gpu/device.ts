/**
 * Device acquisition: `navigator.gpu` in browsers, Dawn's `webgpu` package in Node.
 *
 * In Node, without a hardware GPU, we pick the fastest software Vulkan driver we can find:
 * Mesa's lavapipe (Mesa >= 23; 3-5x faster than SwiftShader on CPU), then Chromium's SwiftShader.
 * `OSSIFY_ADAPTER=lavapipe|swiftshader|hardware|<path to an ICD json>` forces a choice.
 */

/** Which kind of adapter a device runs on. */
export type AdapterKind = 'hardware' | 'lavapipe' | 'swiftshader' | 'software' | 'browser';

/** What the runtime learnt about the adapter and what it was granted. */
export interface DeviceInfo {
  kind: AdapterKind;
  /** vendor / architecture / description as the adapter reports them. */
  vendor: string;
  architecture: string;
  description: string;
  /** True for CPU (software) adapters: kernels pick their CPU-friendly variants. */
  isCpu: boolean;
  /** Why this adapter was chosen (printed once in Node). */
  reason: string;
  /** The optional features that were granted. */
  features: string[];
  /** Subgroup sizes the adapter reports (min, max), where it reports them. */
  subgroupSize?: { min: number; max: number };
  /** The limits that were granted (the adapter's maxima for the ones that matter). */
  limits: Record<string, number>;
}

/** Options for {@link acquireDevice}. */
export interface AcquireOptions {
  /** Force an adapter: 'lavapipe', 'swiftshader', 'hardware' or a Vulkan ICD json path (Node only). */
  adapter?: string;
  /** Print the one-line adapter choice (default true in Node). */
  verbose?: boolean;
}

export const ICD = {
  lavapipe: ['/usr/share/vulkan/icd.d/lvp_icd.json', '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'],
  swiftshader: ['/usr/lib/chromium/vk_swiftshader_icd.json', '/usr/lib/chromium-browser/vk_swiftshader_icd.json'],
};

const CPU_KINDS: AdapterKind[] = ['lavapipe', 'swiftshader', 'software'];
const OPTIONAL_FEATURES = ['shader-f16', 'timestamp-query', 'subgroups'] as const;
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

const NO_ADAPTER_HELP =
  'ossify: no WebGPU adapter found. Fixes: install a GPU driver with Vulkan support; or, for the CPU, ' +
  'install Mesa >= 23 lavapipe (Debian 12: add bookworm-backports and `apt-get install -t bookworm-backports ' +
  'mesa-vulkan-drivers`) or Chromium (`apt-get install chromium`, which ships SwiftShader); then retry, ' +
  'or set OSSIFY_ADAPTER to an ICD json file. In a browser, use one with WebGPU enabled (Chrome 113+, or ' +
  '--enable-unsafe-webgpu).';

/** Classify an adapter by what it reports about itself. */
export function classifyAdapter(info: {
  vendor?: string;
  architecture?: string;
  description?: string;
  device?: string;
}): AdapterKind {
  const s =
    `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.description ?? ''} ${info.device ?? ''}`.toLowerCase();
  if (s.includes('swiftshader')) return 'swiftshader';
  if (s.includes('llvmpipe') || s.includes('lavapipe')) return 'lavapipe';
  if (s.includes('software') || s.includes('cpu')) return 'software';
  return 'hardware';
}

type Picked = { adapter: GPUAdapter; reason: string; keep: unknown };

/** The adapter Dawn offers with this Vulkan ICD (undefined: the system's default), or null. */
async function nodeAdapter(icd: string | undefined): Promise<Omit<Picked, 'reason'> | null> {
  // The specifier is a variable so that browser bundlers never try to resolve Dawn.
  const spec = 'webgpu';
  const mod = (await import(/* @vite-ignore */ spec)) as { create: (o: string[]) => GPU; globals: object };
  Object.assign(globalThis, mod.globals);
  if (icd === undefined) delete process.env.VK_ICD_FILENAMES;
  else process.env.VK_ICD_FILENAMES = icd;
  // OSSIFY_DAWN_FLAGS passes Dawn toggles, e.g. 'enable-dawn-features=allow_unsafe_apis' for
  // unquantized timestamps in benchmarks.
  const gpu = mod.create((process.env.OSSIFY_DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean));
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  return adapter && { adapter, keep: gpu };
}

async function firstExisting(paths: string[]): Promise<string | undefined> {
  const fs = await import(/* @vite-ignore */ 'node:fs');
  return paths.find((p) => fs.existsSync(p));
}

/** Try adapters in order: forced one, the system's default (hardware wins), lavapipe, SwiftShader. */
async function pickNodeAdapter(force: string | undefined): Promise<Picked> {
  if (force) {
    const named = force === 'lavapipe' || force === 'swiftshader';
    const icd = named ? await firstExisting(ICD[force]) : force === 'hardware' ? undefined : force;
    if (named && !icd)
      throw new Error(`ossify: OSSIFY_ADAPTER=${force}: no ICD file in ${ICD[force].join(', ')}. ${NO_ADAPTER_HELP}`);
    const got = await nodeAdapter(icd);
    if (!got) throw new Error(`ossify: the forced adapter '${force}' gave no WebGPU adapter. ${NO_ADAPTER_HELP}`);
    return { ...got, reason: `forced by OSSIFY_ADAPTER=${force}` };
  }
  const userIcd = process.env.VK_ICD_FILENAMES;
  const user = userIcd ? await nodeAdapter(userIcd) : null;
  if (user) return { ...user, reason: `VK_ICD_FILENAMES=${userIcd} was set` };
  // The system default: a hardware GPU if there is one (the loader may also find lavapipe itself).
  const system = await nodeAdapter(undefined);
  const kind = system && classifyAdapter(system.adapter.info);
  if (kind === 'hardware') return { ...system!, reason: 'hardware GPU found' };
  if (kind === 'lavapipe') return { ...system!, reason: 'no hardware GPU; lavapipe is the fastest software adapter' };
  const tried = ['system default'];
  for (const name of ['lavapipe', 'swiftshader'] as const) {
    const icd = await firstExisting(ICD[name]);
    const got = icd ? await nodeAdapter(icd) : null;
    if (got) return { ...got, reason: `no hardware GPU; ${name} via ${icd} (tried: ${tried.join(', ')})` };
    tried.push(`${name} (${icd ? 'refused' : 'not installed'})`);
  }
  throw new Error(`${NO_ADAPTER_HELP} (tried: ${tried.join(', ')})`);
}

/**
 * Acquire a device with the adapter's maximum limits and the optional features it offers; `keepAlive`
 * (Dawn's instance) must live as long as the device is used.
 */
export async function acquireDevice(
  opts: AcquireOptions = {},
): Promise<{ device: GPUDevice; info: DeviceInfo; keepAlive: unknown }> {
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  let picked: Picked;
  if (isNode) picked = await pickNodeAdapter(opts.adapter ?? process.env.OSSIFY_ADAPTER ?? undefined);
  else {
    if (typeof navigator === 'undefined' || !navigator.gpu) throw new Error(NO_ADAPTER_HELP);
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Error(NO_ADAPTER_HELP);
    picked = { adapter, reason: 'navigator.gpu', keep: null };
  }
  const { adapter, reason, keep: keepAlive } = picked;
  const features = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) requiredLimits[name] = (adapter.limits as unknown as Record<string, number>)[name];
  const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits });
  const ai = adapter.info;
  const classified = classifyAdapter(ai);
  const kind = !isNode && classified === 'hardware' ? 'browser' : classified;
  const info: DeviceInfo = {
    kind,
    vendor: ai.vendor,
    architecture: ai.architecture,
    description: ai.description,
    isCpu: CPU_KINDS.includes(kind) || (ai as { isFallbackAdapter?: boolean }).isFallbackAdapter === true,
    reason,
    features: [...features],
    limits: { ...requiredLimits },
  };
  const sg = ai as { subgroupMinSize?: number; subgroupMaxSize?: number };
  if (sg.subgroupMinSize && sg.subgroupMaxSize)
    info.subgroupSize = { min: sg.subgroupMinSize, max: sg.subgroupMaxSize };
  if (isNode && opts.verbose !== false && !process.env.OSSIFY_QUIET)
    console.error(`ossify: using ${kind} adapter (${ai.vendor} ${ai.architecture} ${ai.description}): ${reason}`);
  return { device, info, keepAlive };
}
