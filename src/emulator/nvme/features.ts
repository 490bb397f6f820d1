/**
 * Set Features / Get Features of the bhyve NVMe controller (NVM Express 1.4 §5.21, §5.9;
 * bhyve pci_nvme.c pci_nvme_init_features, nvme_opc_set_features/get_features and the
 * nvme_feature_* callbacks).
 *
 * Feature values are remembered per feature ID as the CDW11 last accepted. Handled as
 * bhyve: Arbitration, Power Management, Interrupt Coalescing, Write Atomicity (stored);
 * Temperature Threshold (an over/under-threshold setting that the 296 K reading crosses
 * raises the SMART temperature warning and posts an asynchronous event); Error Recovery
 * (namespace specific); Number of Queues (once per enable; granted = min(requested,
 * maxq)); Interrupt Vector Configuration (the vector must belong to a CQ); Asynchronous
 * Event Configuration (default 0x11F). Every other ID → INVALID_FIELD (including Volatile
 * Write Cache, since VWC = 0, and LBA Range Type).
 */
import type { NvmeCommand } from './queues.js';
import { status } from './request.js';
import {
  NVME_AEN_DEFAULT_MASK,
  NVME_FEATURES_NS_SPECIFIC,
  NVME_FEATURES_SEL_SUPPORTED,
  NVME_FEAT_ARBITRATION,
  NVME_FEAT_ASYNC_EVENT_CONFIGURATION,
  NVME_FEAT_ERROR_RECOVERY,
  NVME_FEAT_INTERRUPT_COALESCING,
  NVME_FEAT_INTERRUPT_VECTOR_CONFIGURATION,
  NVME_FEAT_NUMBER_OF_QUEUES,
  NVME_FEAT_POWER_MANAGEMENT,
  NVME_FEAT_TEMPERATURE_THRESHOLD,
  NVME_FEAT_WRITE_ATOMICITY,
  NVME_FID_MAX,
  NVME_GLOBAL_NAMESPACE_TAG,
  NVME_SC_COMMAND_SEQUENCE_ERROR,
  NVME_SC_FEATURE_NOT_NS_SPECIFIC,
  NVME_SC_INVALID_FIELD,
  NVME_SCT_COMMAND_SPECIFIC,
  NVME_SCT_GENERIC,
  NVME_TEMPERATURE,
} from './regs.js';

/** What the feature handlers need from the controller. */
export interface FeatureHost {
  /** Grants I/O queue counts (one-based); undefined when already set since enable. */
  setNumberOfQueues(nsq: number, ncq: number): { nsq: number; ncq: number } | undefined;
  /** Whether some existing CQ uses MSI-X vector `iv`. */
  vectorInUse(iv: number): boolean;
  /** Largest valid vector (maxq). */
  readonly maxVector: number;
  /** The temperature threshold moved across the reported temperature (or back). */
  temperatureWarning(on: boolean): void;
}

export interface FeatureResult {
  status: number;
  cdw0: number;
}

type Kind = 'plain' | 'invalid' | 'temperature' | 'ns-specific' | 'queues' | 'iv' | 'aen';

const KINDS = new Map<number, Kind>([
  [NVME_FEAT_ARBITRATION, 'plain'],
  [NVME_FEAT_POWER_MANAGEMENT, 'plain'],
  [NVME_FEAT_INTERRUPT_COALESCING, 'plain'],
  [NVME_FEAT_WRITE_ATOMICITY, 'plain'],
  [NVME_FEAT_TEMPERATURE_THRESHOLD, 'temperature'],
  [NVME_FEAT_ERROR_RECOVERY, 'ns-specific'],
  [NVME_FEAT_NUMBER_OF_QUEUES, 'queues'],
  [NVME_FEAT_INTERRUPT_VECTOR_CONFIGURATION, 'iv'],
  [NVME_FEAT_ASYNC_EVENT_CONFIGURATION, 'aen'],
]);

const OK = status(NVME_SCT_GENERIC, 0);
const INVALID = status(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
const ASYNC_EVENT_ENDURANCE_GROUP = 0x4000;

export class NvmeFeatures {
  readonly cdw11 = new Uint32Array(NVME_FID_MAX);

  constructor() {
    this.reset();
  }

  reset(): void {
    this.cdw11.fill(0);
    this.cdw11[NVME_FEAT_ASYNC_EVENT_CONFIGURATION] = NVME_AEN_DEFAULT_MASK;
  }

  get aenMask(): number {
    return this.cdw11[NVME_FEAT_ASYNC_EVENT_CONFIGURATION]!;
  }

  set(cmd: NvmeCommand, host: FeatureHost): FeatureResult {
    const fid = cmd.cdw10 & 0xff;
    const kind = KINDS.get(fid) ?? 'invalid';
    if (fid >= NVME_FID_MAX || kind === 'invalid') return { status: INVALID, cdw0: 0 };
    const nsSpecific = kind === 'ns-specific';
    if (nsSpecific && cmd.nsid === NVME_GLOBAL_NAMESPACE_TAG) return { status: INVALID, cdw0: 0 };
    if (!nsSpecific && cmd.nsid !== 0 && cmd.nsid !== NVME_GLOBAL_NAMESPACE_TAG) {
      return { status: status(NVME_SCT_COMMAND_SPECIFIC, NVME_SC_FEATURE_NOT_NS_SPECIFIC), cdw0: 0 };
    }
    let value = cmd.cdw11 >>> 0;
    let cdw0 = 0;
    switch (kind) {
      case 'temperature': {
        const tmpth = value & 0xffff;
        const tmpsel = (value >>> 16) & 0xf;
        const thsel = (value >>> 20) & 0x3;
        if ((tmpsel !== 0 && tmpsel !== 0xf) || thsel > 1) return { status: INVALID, cdw0: 0 };
        const crit = (thsel === 0 && NVME_TEMPERATURE >= tmpth) || (thsel === 1 && NVME_TEMPERATURE <= tmpth);
        host.temperatureWarning(crit);
        break;
      }
      case 'queues': {
        const nsqr = value & 0xffff;
        const ncqr = value >>> 16;
        if (nsqr === 0xffff || ncqr === 0xffff) return { status: INVALID, cdw0: 0 };
        const g = host.setNumberOfQueues(nsqr + 1, ncqr + 1);
        if (!g) return { status: status(NVME_SCT_GENERIC, NVME_SC_COMMAND_SEQUENCE_ERROR), cdw0: 0 };
        value = ((g.nsq - 1) & 0xffff) | (((g.ncq - 1) & 0xffff) << 16);
        cdw0 = value;
        break;
      }
      case 'iv': {
        const iv = value & 0xffff;
        const cd = (value & (1 << 16)) !== 0;
        if (iv > host.maxVector || (iv === 0 && !cd) || !host.vectorInUse(iv)) return { status: INVALID, cdw0: 0 };
        break;
      }
      case 'aen':
        if (value & ASYNC_EVENT_ENDURANCE_GROUP) return { status: INVALID, cdw0: 0 };
        break;
      default:
        break;
    }
    this.cdw11[fid] = value >>> 0;
    return { status: OK, cdw0 };
  }

  get(cmd: NvmeCommand): FeatureResult {
    const fid = cmd.cdw10 & 0xff;
    const sel = (cmd.cdw10 >>> 8) & 0x7;
    const kind = KINDS.get(fid) ?? 'invalid';
    if (fid >= NVME_FID_MAX || kind === 'invalid') return { status: INVALID, cdw0: 0 };
    if (sel === NVME_FEATURES_SEL_SUPPORTED && kind === 'ns-specific') return { status: OK, cdw0: NVME_FEATURES_NS_SPECIFIC };
    return { status: OK, cdw0: this.cdw11[fid]! };
  }
}
