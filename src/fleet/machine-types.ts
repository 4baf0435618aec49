// The machine-type catalog: what one node of a NodePool is (GPUs and which, CPU, memory), by the
// names cloud providers give their instance types. The NodePool controller makes simulated nodes
// of these shapes (fakeNodePool.machineType) and asks Karpenter for them (eksNodePool.instanceType).
// Accelerators, regions and their pairing come from catalog.ts (shared/spec/fleet-catalog.json);
// the instance types are the providers' published shapes (8 GPUs per node for the GPU types).
import { ACCELERATORS, type AcceleratorType } from './catalog.js';

export interface MachineType {
  /** The provider's name, e.g. `a3-highgpu-8g`, `p5.48xlarge`. */
  name: string;
  /** Undefined for a CPU machine. */
  acceleratorType?: AcceleratorType;
  /** GPUs per node (0 for a CPU machine). */
  acceleratorCount: number;
  /** vCPUs and memory the node advertises. */
  cpu: number;
  memoryGiB: number;
}

const gpu = (name: string, acceleratorType: AcceleratorType, cpu: number, memoryGiB: number): MachineType => ({ name, acceleratorType, acceleratorCount: 8, cpu, memoryGiB });
const cpuOnly = (name: string, cpu: number, memoryGiB: number): MachineType => ({ name, acceleratorCount: 0, cpu, memoryGiB });

export const MACHINE_TYPES: Record<string, MachineType> = Object.fromEntries(
  [
    // Google Cloud
    gpu('a2-ultragpu-8g', 'NVIDIA_A100_80GB', 96, 1360),
    gpu('a3-highgpu-8g', 'NVIDIA_H100_80GB', 208, 1872),
    gpu('a3-ultragpu-8g', 'NVIDIA_H200_141GB', 224, 2952),
    // AWS
    gpu('p4de.24xlarge', 'NVIDIA_A100_80GB', 96, 1152),
    gpu('p5.48xlarge', 'NVIDIA_H100_80GB', 192, 2048),
    gpu('p5e.48xlarge', 'NVIDIA_H200_141GB', 192, 2048),
    // Azure / AMD
    gpu('mi300x.8x', 'AMD_MI300X_192GB', 128, 2048),
    gpu('Standard_ND96isr_MI300X_v5', 'AMD_MI300X_192GB', 96, 1850),
    // CPU
    cpuOnly('n2-standard-32', 32, 128),
    cpuOnly('m5.8xlarge', 32, 128),
  ].map((m) => [m.name, m]),
);

/** The machine type a simulated pool uses when it names only an accelerator type (or nothing: CPU). */
export const DEFAULT_MACHINE_TYPE: Record<AcceleratorType | 'CPU', string> = {
  NVIDIA_A100_80GB: 'a2-ultragpu-8g',
  NVIDIA_H100_80GB: 'a3-highgpu-8g',
  NVIDIA_H200_141GB: 'a3-ultragpu-8g',
  AMD_MI300X_192GB: 'mi300x.8x',
  CPU: 'n2-standard-32',
};

export function machineType(name: string): MachineType | undefined {
  return Object.hasOwn(MACHINE_TYPES, name) ? MACHINE_TYPES[name] : undefined;
}

/** The extended resource a machine's GPUs are requested by (undefined for CPU machines). */
export function gpuResource(m: MachineType): string | undefined {
  return m.acceleratorType ? ACCELERATORS[m.acceleratorType].resource : undefined;
}

/** Ranks a node provides: its GPUs, or 1 (one host) on a CPU machine. */
export function ranksPerNode(m: MachineType): number {
  return m.acceleratorCount > 0 ? m.acceleratorCount : 1;
}

/** What a node of the machine advertises as capacity (= allocatable on a simulated node). */
export function machineCapacity(m: MachineType): Record<string, string> {
  const res = gpuResource(m);
  return {
    cpu: String(m.cpu),
    memory: `${m.memoryGiB}Gi`,
    pods: '110',
    'ephemeral-storage': '4Ti',
    ...(res ? { [res]: String(m.acceleratorCount) } : {}),
  };
}

/** What a simulated pool names: fakeNodePool's machine fields. */
export interface FakeMachineRequest {
  machineType?: string | undefined;
  acceleratorType?: string | undefined;
  acceleratorCount?: number | undefined;
}

/**
 * The machine a simulated pool's nodes are (machineType, else the default machine of
 * acceleratorType, else a CPU machine; acceleratorCount overrides the GPUs per node), or the field
 * (relative to fakeNodePool) that makes it impossible and why. The REST facade refuses such a pool
 * with 400; the NodePool controller reports a kubectl-made one FAILED.
 */
export function resolveFakeMachine(f: FakeMachineRequest): { machine: MachineType } | { field: string; message: string } {
  const known = Object.keys(MACHINE_TYPES).join(', ');
  let machine: MachineType;
  if (f.machineType !== undefined) {
    const m = machineType(f.machineType);
    if (!m) return { field: 'machineType', message: `unknown machine type "${f.machineType}"; known: ${known}` };
    if (f.acceleratorType !== undefined && m.acceleratorType !== f.acceleratorType) {
      return { field: 'acceleratorType', message: `${f.acceleratorType} does not match machine type ${m.name} (${m.acceleratorType ?? 'no accelerators'})` };
    }
    machine = m;
  } else {
    const acc = f.acceleratorType ?? 'CPU';
    const name = Object.hasOwn(DEFAULT_MACHINE_TYPE, acc) ? DEFAULT_MACHINE_TYPE[acc as keyof typeof DEFAULT_MACHINE_TYPE] : undefined;
    if (!name) return { field: 'acceleratorType', message: `no machine type of the fleet catalog has ${acc}; known: ${known}` };
    machine = MACHINE_TYPES[name]!;
  }
  if (f.acceleratorCount !== undefined) {
    if (!machine.acceleratorType) return { field: 'acceleratorCount', message: `machine type ${machine.name} has no accelerators; set acceleratorType or a GPU machineType` };
    if (f.acceleratorCount < 1 || f.acceleratorCount > 16) return { field: 'acceleratorCount', message: 'must be between 1 and 16' };
    machine = { ...machine, acceleratorCount: f.acceleratorCount };
  }
  return { machine };
}
