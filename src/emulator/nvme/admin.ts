/**
 * Admin command set of the bhyve NVMe controller (NVM Express 1.4 §5; bhyve pci_nvme.c
 * pci_nvme_handle_admin_cmd and nvme_opc_*; bhyve-userland.md §6.8).
 *
 * Each command is validated from its guest bytes before it changes anything: queue
 * identifiers against the granted counts, queue sizes against CAP.MQES, interrupt vectors
 * against the MSI-X table, queue memory (page aligned, wholly guest RAM — bhyve maps
 * whatever the guest names), PRPs for data transfers (prp.ts). Outcomes are a status to
 * post now, "deferred" (Asynchronous Event Request: completed when an event fires), or a
 * promise (Format NVM on a backend that deallocates).
 *
 * Unsupported, as bhyve: non-contiguous queues (INVALID_FIELD), firmware activation
 * (INVALID_FIRMWARE_SLOT), security send/receive, sanitize, get LBA status
 * (INVALID_FIELD), namespace management and everything else (INVALID_OPCODE).
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import type { FeatureHost, NvmeFeatures } from './features.js';
import { activeNamespaceList, namespaceDescriptors } from './identify.js';
import type { NvmeLogs } from './logs.js';
import { copyToSegments, resolvePrps } from './prp.js';
import type { CompletionQueue, NvmeCommand, SubmissionQueue } from './queues.js';
import { status } from './request.js';
import * as R from './regs.js';

export interface AdminResult {
  status: number;
  cdw0: number;
}

export type AdminOutcome = AdminResult | 'deferred' | Promise<AdminResult>;

/** What the admin commands need from the controller. */
export interface AdminHost extends FeatureHost {
  readonly mem: GuestMemory;
  readonly features: NvmeFeatures;
  readonly logs: NvmeLogs;
  /** I/O queue counts granted (one-based). */
  readonly numSq: number;
  readonly numCq: number;
  /** CAP.MQES + 1. */
  readonly maxEntries: number;
  /** MSI-X table size (maxq + 1). */
  readonly vectors: number;
  sq(id: number): SubmissionQueue | undefined;
  cq(id: number): CompletionQueue | undefined;
  createSq(id: number, base: number, size: number, cqid: number): void;
  createCq(id: number, base: number, size: number, ien: boolean, vector: number): void;
  deleteSq(id: number): void;
  deleteCq(id: number): void;
  /** Keeps an Asynchronous Event Request; false when AERL+1 are outstanding. */
  addAer(cid: number): boolean;
  identifyController(): Uint8Array;
  identifyNamespace(): Uint8Array;
  readonly eui64: bigint;
  /** Erases the namespace (Format NVM, SES 0/1). */
  format(): Promise<boolean>;
}

const ok = (cdw0 = 0): AdminResult => ({ status: status(R.NVME_SCT_GENERIC, R.NVME_SC_SUCCESS), cdw0 });
const gen = (sc: number): AdminResult => ({ status: status(R.NVME_SCT_GENERIC, sc), cdw0: 0 });
const spec = (sc: number): AdminResult => ({ status: status(R.NVME_SCT_COMMAND_SPECIFIC, sc), cdw0: 0 });

/** Copies `data` to the command's PRPs; a failure is the command's status. */
function transfer(host: AdminHost, cmd: NvmeCommand, data: Uint8Array): AdminResult {
  const p = resolvePrps(host.mem, cmd.prp1, cmd.prp2, data.length);
  if (!p.ok) return gen(p.status);
  copyToSegments(host.mem, p.segs, data);
  return ok();
}

/** A contiguous queue's memory: page aligned and wholly guest RAM. */
function queueMemory(host: AdminHost, base: number, bytes: number): AdminResult | undefined {
  if (base % R.NVME_PAGE_SIZE !== 0) return gen(R.NVME_SC_INVALID_PRP_OFFSET);
  if (!host.mem.contains(base, bytes)) return gen(R.NVME_SC_DATA_TRANSFER_ERROR);
  return undefined;
}

function createIoCq(host: AdminHost, cmd: NvmeCommand): AdminResult {
  const qid = cmd.cdw10 & 0xffff;
  if (!(cmd.cdw11 & R.NVME_CMD_CDW11_PC)) return gen(R.NVME_SC_INVALID_FIELD);
  if (qid === 0 || qid > host.numCq || host.cq(qid)) return spec(R.NVME_SC_INVALID_QUEUE_IDENTIFIER);
  const vector = cmd.cdw11 >>> 16;
  if (vector >= host.vectors) return spec(R.NVME_SC_INVALID_INTERRUPT_VECTOR);
  const size = (cmd.cdw10 >>> 16) + 1;
  if (size < 2 || size > host.maxEntries) return spec(R.NVME_SC_MAXIMUM_QUEUE_SIZE_EXCEEDED);
  const bad = queueMemory(host, cmd.prp1, size * R.NVME_CQE_SIZE);
  if (bad) return bad;
  host.createCq(qid, cmd.prp1, size, (cmd.cdw11 & R.NVME_CMD_CDW11_IEN) !== 0, vector);
  return ok();
}

function createIoSq(host: AdminHost, cmd: NvmeCommand): AdminResult {
  const qid = cmd.cdw10 & 0xffff;
  if (!(cmd.cdw11 & R.NVME_CMD_CDW11_PC)) return gen(R.NVME_SC_INVALID_FIELD);
  if (qid === 0 || qid > host.numSq || host.sq(qid)) return spec(R.NVME_SC_INVALID_QUEUE_IDENTIFIER);
  const size = (cmd.cdw10 >>> 16) + 1;
  if (size < 2 || size > host.maxEntries) return spec(R.NVME_SC_MAXIMUM_QUEUE_SIZE_EXCEEDED);
  const cqid = cmd.cdw11 >>> 16;
  if (cqid === 0 || cqid > host.numCq) return spec(R.NVME_SC_INVALID_QUEUE_IDENTIFIER);
  if (!host.cq(cqid)) return spec(R.NVME_SC_COMPLETION_QUEUE_INVALID);
  const bad = queueMemory(host, cmd.prp1, size * R.NVME_SQE_SIZE);
  if (bad) return bad;
  host.createSq(qid, cmd.prp1, size, cqid);
  return ok();
}

function deleteIoSq(host: AdminHost, cmd: NvmeCommand): AdminResult {
  const qid = cmd.cdw10 & 0xffff;
  if (qid === 0 || qid > host.numSq || !host.sq(qid)) return spec(R.NVME_SC_INVALID_QUEUE_IDENTIFIER);
  host.deleteSq(qid);
  return ok();
}

function deleteIoCq(host: AdminHost, cmd: NvmeCommand): AdminResult {
  const qid = cmd.cdw10 & 0xffff;
  if (qid === 0 || qid > host.numCq || !host.cq(qid)) return spec(R.NVME_SC_INVALID_QUEUE_IDENTIFIER);
  for (let i = 1; i <= host.numSq; i++) if (host.sq(i)?.cqid === qid) return spec(R.NVME_SC_INVALID_QUEUE_DELETION);
  host.deleteCq(qid);
  return ok();
}

function getLogPage(host: AdminHost, cmd: NvmeCommand): AdminResult {
  const lid = cmd.cdw10 & 0xff;
  const numd = ((((cmd.cdw11 & 0xffff) << 16) >>> 0) | (cmd.cdw10 >>> 16)) + 1;
  const bytes = numd * 4;
  // An offset at or beyond 2^32 is beyond every page.
  const offset = cmd.cdw13 !== 0 ? Number.MAX_SAFE_INTEGER : cmd.cdw12;
  const page = host.logs.page(lid);
  if (!page) return spec(R.NVME_SC_INVALID_LOG_PAGE);
  if (offset >= page.length) return gen(R.NVME_SC_INVALID_FIELD);
  return transfer(host, cmd, page.subarray(offset, offset + Math.min(bytes, page.length - offset)));
}

function identify(host: AdminHost, cmd: NvmeCommand): AdminResult {
  switch (cmd.cdw10 & 0xff) {
    case R.NVME_CNS_NAMESPACE:
      if (cmd.nsid === 0 || cmd.nsid === R.NVME_GLOBAL_NAMESPACE_TAG) return gen(R.NVME_SC_INVALID_NAMESPACE_OR_FORMAT);
      // Inactive namespace IDs read as zeroes.
      return transfer(host, cmd, cmd.nsid === 1 ? host.identifyNamespace() : new Uint8Array(R.NVME_IDENTIFY_SIZE));
    case R.NVME_CNS_CONTROLLER:
      return transfer(host, cmd, host.identifyController());
    case R.NVME_CNS_ACTIVE_NS_LIST:
      return transfer(host, cmd, activeNamespaceList(cmd.nsid));
    case R.NVME_CNS_NS_ID_DESCRIPTORS:
      if (cmd.nsid !== 1) return gen(R.NVME_SC_INVALID_NAMESPACE_OR_FORMAT);
      return transfer(host, cmd, namespaceDescriptors(host.eui64));
    case R.NVME_CNS_CONTROLLER_LIST:
      return transfer(host, cmd, new Uint8Array(R.NVME_IDENTIFY_SIZE));
    default:
      return gen(R.NVME_SC_INVALID_FIELD);
  }
}

function formatNvm(host: AdminHost, cmd: NvmeCommand): AdminOutcome {
  const ses = (cmd.cdw10 >>> 9) & 0x7;
  const lbaf = cmd.cdw10 & 0xf;
  const pi = (cmd.cdw10 >>> 5) & 0x7;
  if (ses > 1) return gen(R.NVME_SC_INVALID_FIELD);
  if (lbaf !== 0) return spec(R.NVME_SC_INVALID_FORMAT);
  if (pi !== 0) return gen(R.NVME_SC_INVALID_FIELD);
  return host.format().then((done) => (done ? ok() : gen(R.NVME_SC_INTERNAL_DEVICE_ERROR)));
}

export function handleAdminCommand(host: AdminHost, cmd: NvmeCommand): AdminOutcome {
  switch (cmd.opc) {
    case R.NVME_OPC_DELETE_IO_SQ:
      return deleteIoSq(host, cmd);
    case R.NVME_OPC_CREATE_IO_SQ:
      return createIoSq(host, cmd);
    case R.NVME_OPC_DELETE_IO_CQ:
      return deleteIoCq(host, cmd);
    case R.NVME_OPC_CREATE_IO_CQ:
      return createIoCq(host, cmd);
    case R.NVME_OPC_GET_LOG_PAGE:
      return getLogPage(host, cmd);
    case R.NVME_OPC_IDENTIFY:
      return identify(host, cmd);
    case R.NVME_OPC_ABORT:
      // Nothing is really aborted: CDW0 bit 0 says "not aborted" (as bhyve).
      return ok(1);
    case R.NVME_OPC_SET_FEATURES:
      return host.features.set(cmd, host);
    case R.NVME_OPC_GET_FEATURES:
      return host.features.get(cmd);
    case R.NVME_OPC_ASYNC_EVENT_REQUEST:
      return host.addAer(cmd.cid) ? 'deferred' : spec(R.NVME_SC_ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED);
    case R.NVME_OPC_FIRMWARE_ACTIVATE:
      return spec(R.NVME_SC_INVALID_FIRMWARE_SLOT);
    case R.NVME_OPC_FORMAT_NVM:
      return formatNvm(host, cmd);
    case R.NVME_OPC_SECURITY_SEND:
    case R.NVME_OPC_SECURITY_RECEIVE:
    case R.NVME_OPC_SANITIZE:
    case R.NVME_OPC_GET_LBA_STATUS:
      return gen(R.NVME_SC_INVALID_FIELD);
    default:
      return gen(R.NVME_SC_INVALID_OPCODE);
  }
}
