/**
 * Device selection: which device the native engine should run on, and what
 * CUDA this build and machine offer.
 *
 *   auto  CUDA when it was compiled in AND a device is present, else the CPU
 *   cpu   the CPU
 *   cuda  CUDA, or a DeviceUnavailableError naming why not (not compiled in,
 *         no driver, no device, driver error) — never a silent CPU fallback
 *
 * The default request comes from HNAS_DEVICE (else `auto`). Phase 1 of the
 * CUDA path (docs/cuda.md): the kernels run on the device, the engine's
 * per-sample gradients and Θ do not yet; callers resolve the device with this
 * module so that the engine can honour `cuda` when it lands.
 */
import { DeviceUnavailableError, InvalidArgumentError, type DeviceUnavailableReason } from '../errors.js';
import { loadAddon, type RawCudaStatusName } from './binding.js';
import { fromNative } from './errors.js';

export type Device = 'auto' | 'cpu' | 'cuda';
/** A device work actually runs on. */
export type ResolvedDevice = 'cpu' | 'cuda';

export const DEVICES: readonly Device[] = ['auto', 'cpu', 'cuda'];

export interface CudaAvailability {
  /** CUDA kernels compiled for a GPU into this build. */
  compiled: boolean;
  /** Kernels compiled for the host emulator instead (HNAS_CUDA=EMULATE): no device use. */
  emulated: boolean;
  status: RawCudaStatusName;
  deviceCount: number;
  /** CUDA driver version, e.g. 13000; 0 without a driver. */
  driverVersion: number;
  /** CUDA runtime linked in, e.g. 13000; 0 without CUDA. */
  runtimeVersion: number;
  /** The CUDA runtime's words when no device is available. */
  message: string;
}

export interface CudaDeviceInfo {
  index: number;
  name: string;
  /** Compute capability, e.g. "9.0". */
  computeCapability: string;
  multiprocessors: number;
  totalMemoryBytes: number;
  freeMemoryBytes: number;
}

/** Checks a device name (from an option, a CLI flag or HNAS_DEVICE). */
export function parseDevice(value: unknown, source = 'device'): Device {
  if (typeof value === 'string' && (DEVICES as readonly string[]).includes(value)) return value as Device;
  throw new InvalidArgumentError(`${source} must be one of ${DEVICES.map((d) => `"${d}"`).join(', ')}, got ${JSON.stringify(value)}`);
}

/** What CUDA this build has and this machine offers. Never throws for a missing device or driver. */
export function cudaAvailability(): CudaAvailability {
  const addon = loadAddon();
  const info = addon.buildInfo();
  const s = addon.cudaStatus();
  return {
    compiled: info.cudaCompiled,
    emulated: info.cudaEmulated,
    status: s.status,
    deviceCount: s.deviceCount,
    driverVersion: s.driverVersion,
    runtimeVersion: s.runtimeVersion,
    message: s.message,
  };
}

/** The CUDA devices with their memory now; [] when there is none (or no CUDA). */
export function cudaDevices(): CudaDeviceInfo[] {
  let list;
  try {
    list = loadAddon().cudaDevices();
  } catch (error) {
    throw fromDeviceNative(error, 'cudaDevices');
  }
  return list.map((d) => ({
    index: d.index,
    name: d.name,
    computeCapability: d.computeCapability,
    multiprocessors: d.multiprocessors,
    totalMemoryBytes: d.totalMemory,
    freeMemoryBytes: d.freeMemory,
  }));
}

/** Why CUDA cannot be used here, or undefined when it can. */
export function cudaUnavailableReason(a: CudaAvailability = cudaAvailability()): DeviceUnavailableReason | undefined {
  if (!a.compiled) return 'not-compiled';
  if (a.status === 'available' && a.deviceCount > 0) return undefined;
  if (a.status === 'no-driver' || a.status === 'no-device' || a.status === 'driver-error') return a.status;
  return 'no-device';
}

function unavailableMessage(reason: DeviceUnavailableReason, a: CudaAvailability): string {
  const detail = a.message ? ` (${a.message})` : '';
  switch (reason) {
    case 'not-compiled':
      return a.emulated
        ? 'device "cuda" is unavailable: CUDA was not compiled in (this build runs the CUDA kernels on the host emulator, HNAS_CUDA=EMULATE); rebuild with nvcc and HNAS_CUDA=ON'
        : 'device "cuda" is unavailable: CUDA was not compiled in (built with HNAS_CUDA=OFF or without nvcc); rebuild with HNAS_CUDA=ON';
    case 'no-driver':
      return `device "cuda" is unavailable: no CUDA driver was found${detail}`;
    case 'no-device':
      return `device "cuda" is unavailable: no CUDA device was found${detail}`;
    case 'driver-error':
      return `device "cuda" is unavailable: the CUDA driver failed${detail}`;
  }
}

/**
 * The device to run on for a request (default: HNAS_DEVICE, else `auto`):
 * `resolveDevice(requested = process.env.HNAS_DEVICE ?? 'auto')`.
 * @throws InvalidArgumentError for a value that is not a Device.
 * @throws DeviceUnavailableError for `cuda` when it cannot be served.
 */
export function resolveDevice(requested?: unknown): ResolvedDevice {
  // requested = HNAS_DEVICE ?? 'auto' (an empty HNAS_DEVICE counts as unset).
  const env = process.env.HNAS_DEVICE === '' ? undefined : process.env.HNAS_DEVICE;
  const fromEnv = requested === undefined && env !== undefined;
  const device = parseDevice(requested === undefined ? (env ?? 'auto') : requested, fromEnv ? 'HNAS_DEVICE' : 'device');
  if (device === 'cpu') return 'cpu';
  const a = cudaAvailability();
  const reason = cudaUnavailableReason(a);
  if (reason === undefined) return 'cuda';
  if (device === 'auto') return 'cpu';
  throw new DeviceUnavailableError(reason, unavailableMessage(reason, a));
}

/** fromNative() that also knows the addon's ERR_HNAS_DEVICE_UNAVAILABLE. */
export function fromDeviceNative(error: unknown, context: string): Error {
  const e = error as { code?: unknown; reason?: unknown; message?: unknown };
  if (error instanceof Error && e.code === 'ERR_HNAS_DEVICE_UNAVAILABLE') {
    const reason = (['not-compiled', 'no-driver', 'no-device', 'driver-error'] as const).find((r) => r === e.reason) ?? 'no-device';
    return new DeviceUnavailableError(reason, `${context}: ${error.message}`, { cause: error });
  }
  return fromNative(error, context);
}

/**
 * The device the engine's probes, gradients and training run on, for a
 * request (`--device`, the API's `device`, HNAS_DEVICE): resolveDevice's
 * answer — `cpu` → cpu; `auto` → cuda when CUDA is compiled in and a device
 * is present, else cpu; `cuda` → cuda, or DeviceUnavailableError naming why
 * not (never a silent CPU fallback). Pass the result to Network.create.
 */
export function engineDevice(requested?: unknown): ResolvedDevice {
  return resolveDevice(requested);
}
