/**
 * NVMe constants: controller registers, command opcodes, status codes, identify and log
 * page layout (NVM Express Base Specification 1.4 §3.1 registers, §4.2 SQ entry, §4.6 CQ
 * entry, §4.6.1 status, §5 admin commands, §6 NVM commands; names as FreeBSD's
 * dev/nvme/nvme.h spells them). Constants only.
 */

// ---- controller registers (§3.1) ----
export const NVME_CR_CAP_LOW = 0x00;
export const NVME_CR_CAP_HI = 0x04;
export const NVME_CR_VS = 0x08;
export const NVME_CR_INTMS = 0x0c;
export const NVME_CR_INTMC = 0x10;
export const NVME_CR_CC = 0x14;
export const NVME_CR_CSTS = 0x1c;
export const NVME_CR_NSSR = 0x20;
export const NVME_CR_AQA = 0x24;
export const NVME_CR_ASQ_LOW = 0x28;
export const NVME_CR_ASQ_HI = 0x2c;
export const NVME_CR_ACQ_LOW = 0x30;
export const NVME_CR_ACQ_HI = 0x34;
/** Doorbells start here; with CAP.DSTRD = 0 each queue pair takes 8 bytes (SQ tail, CQ head). */
export const NVME_DOORBELL_OFFSET = 0x1000;
/** bhyve NVME_MMIO_SPACE_MIN: the specification's minimum BAR0 size (Windows checks it). */
export const NVME_MMIO_SPACE_MIN = 1 << 14;

// CAP (64 bits, §3.1.1)
export const NVME_CAP_LO_REG_CQR_SHIFT = 16;
export const NVME_CAP_LO_REG_TO_SHIFT = 24;
/** CAP.CSS bit 37 (NVM command set) seen in the high dword. */
export const NVME_CAP_HI_REG_CSS_NVM_SHIFT = 5;
/** Version 1.4.0. */
export const NVME_VS_1_4 = 0x00010400;

// CC (§3.1.5)
export const NVME_CC_REG_EN = 1 << 0;
export const NVME_CC_REG_CSS_SHIFT = 4;
export const NVME_CC_REG_MPS_SHIFT = 7;
export const NVME_CC_REG_AMS_SHIFT = 11;
export const NVME_CC_REG_SHN_SHIFT = 14;
export const NVME_CC_REG_IOSQES_SHIFT = 16;
export const NVME_CC_REG_IOCQES_SHIFT = 20;
/** Bits a write always updates: EN, IOSQES, IOCQES. */
export const NVME_CC_WRITE_MASK = NVME_CC_REG_EN | (0xf << NVME_CC_REG_IOSQES_SHIFT) | (0xf << NVME_CC_REG_IOCQES_SHIFT);
/** Bits a write updates only while disabled: CSS, MPS, AMS. */
export const NVME_CC_NEN_WRITE_MASK = (0x7 << NVME_CC_REG_CSS_SHIFT) | (0xf << NVME_CC_REG_MPS_SHIFT) | (0x7 << NVME_CC_REG_AMS_SHIFT);
export const NVME_CC_SHN_MASK = 0x3 << NVME_CC_REG_SHN_SHIFT;

// CSTS (§3.1.6)
export const NVME_CSTS_RDY = 1 << 0;
export const NVME_CSTS_CFS = 1 << 1;
export const NVME_CSTS_SHST_SHIFT = 2;
export const NVME_CSTS_SHST_MASK = 0x3 << NVME_CSTS_SHST_SHIFT;
export const NVME_SHST_COMPLETE = 2;

// AQA (§3.1.8)
export const NVME_AQA_ASQS_MASK = 0xfff;
export const NVME_AQA_ACQS_SHIFT = 16;

// ---- queue entries (§4.2, §4.6) ----
export const NVME_SQE_SIZE = 64;
export const NVME_CQE_SIZE = 16;
/** Memory page size: CAP.MPSMIN = MPSMAX = 0, so CC.MPS can only select 4 KiB. */
export const NVME_PAGE_SIZE = 4096;
/** Maximum data transfer, 2^MDTS pages (2 MiB), as bhyve. */
export const NVME_MDTS = 9;
export const NVME_MAX_DATA_SIZE = (1 << NVME_MDTS) * NVME_PAGE_SIZE;

// ---- status field (§4.6.1) ----
export const NVME_STATUS_P = 1 << 0;
export const NVME_STATUS_SC_SHIFT = 1;
export const NVME_STATUS_SCT_SHIFT = 9;
export const NVME_STATUS_DNR = 1 << 15;

export const NVME_SCT_GENERIC = 0x0;
export const NVME_SCT_COMMAND_SPECIFIC = 0x1;

// Generic command status (§4.6.1.2.1)
export const NVME_SC_SUCCESS = 0x00;
export const NVME_SC_INVALID_OPCODE = 0x01;
export const NVME_SC_INVALID_FIELD = 0x02;
export const NVME_SC_DATA_TRANSFER_ERROR = 0x04;
export const NVME_SC_INTERNAL_DEVICE_ERROR = 0x06;
export const NVME_SC_ABORTED_SQ_DELETION = 0x08;
export const NVME_SC_INVALID_NAMESPACE_OR_FORMAT = 0x0b;
export const NVME_SC_COMMAND_SEQUENCE_ERROR = 0x0c;
export const NVME_SC_INVALID_PRP_OFFSET = 0x13;
export const NVME_SC_LBA_OUT_OF_RANGE = 0x80;

// Command specific status (§4.6.1.2.2)
export const NVME_SC_COMPLETION_QUEUE_INVALID = 0x00;
export const NVME_SC_INVALID_QUEUE_IDENTIFIER = 0x01;
export const NVME_SC_MAXIMUM_QUEUE_SIZE_EXCEEDED = 0x02;
export const NVME_SC_ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED = 0x05;
export const NVME_SC_INVALID_FIRMWARE_SLOT = 0x06;
export const NVME_SC_INVALID_INTERRUPT_VECTOR = 0x08;
export const NVME_SC_INVALID_LOG_PAGE = 0x09;
export const NVME_SC_INVALID_FORMAT = 0x0a;
export const NVME_SC_INVALID_QUEUE_DELETION = 0x0c;
export const NVME_SC_FEATURE_NOT_NS_SPECIFIC = 0x0f;

// ---- admin opcodes (§5) ----
export const NVME_OPC_DELETE_IO_SQ = 0x00;
export const NVME_OPC_CREATE_IO_SQ = 0x01;
export const NVME_OPC_GET_LOG_PAGE = 0x02;
export const NVME_OPC_DELETE_IO_CQ = 0x04;
export const NVME_OPC_CREATE_IO_CQ = 0x05;
export const NVME_OPC_IDENTIFY = 0x06;
export const NVME_OPC_ABORT = 0x08;
export const NVME_OPC_SET_FEATURES = 0x09;
export const NVME_OPC_GET_FEATURES = 0x0a;
export const NVME_OPC_ASYNC_EVENT_REQUEST = 0x0c;
export const NVME_OPC_FIRMWARE_ACTIVATE = 0x10;
export const NVME_OPC_FIRMWARE_IMAGE_DOWNLOAD = 0x11;
export const NVME_OPC_FORMAT_NVM = 0x80;
export const NVME_OPC_SECURITY_SEND = 0x81;
export const NVME_OPC_SECURITY_RECEIVE = 0x82;
export const NVME_OPC_SANITIZE = 0x84;
export const NVME_OPC_GET_LBA_STATUS = 0x86;

// ---- NVM command set opcodes (§6) ----
export const NVME_OPC_FLUSH = 0x00;
export const NVME_OPC_WRITE = 0x01;
export const NVME_OPC_READ = 0x02;
export const NVME_OPC_WRITE_ZEROES = 0x08;
export const NVME_OPC_DATASET_MANAGEMENT = 0x09;

/** CREATE_IO_SQ/CQ CDW11 bits. */
export const NVME_CMD_CDW11_PC = 0x0001;
export const NVME_CMD_CDW11_IEN = 0x0002;
/** Dataset Management attribute: deallocate. */
export const NVME_DSM_ATTR_DEALLOCATE = 0x4;
/** At most 256 ranges of 16 bytes. */
export const NVME_MAX_DSM_TRIM = 4096;
export const NVME_DSM_RANGE_SIZE = 16;

export const NVME_GLOBAL_NAMESPACE_TAG = 0xffffffff;

// ---- features (§5.21.1) ----
export const NVME_FEAT_ARBITRATION = 0x01;
export const NVME_FEAT_POWER_MANAGEMENT = 0x02;
export const NVME_FEAT_LBA_RANGE_TYPE = 0x03;
export const NVME_FEAT_TEMPERATURE_THRESHOLD = 0x04;
export const NVME_FEAT_ERROR_RECOVERY = 0x05;
export const NVME_FEAT_VOLATILE_WRITE_CACHE = 0x06;
export const NVME_FEAT_NUMBER_OF_QUEUES = 0x07;
export const NVME_FEAT_INTERRUPT_COALESCING = 0x08;
export const NVME_FEAT_INTERRUPT_VECTOR_CONFIGURATION = 0x09;
export const NVME_FEAT_WRITE_ATOMICITY = 0x0a;
export const NVME_FEAT_ASYNC_EVENT_CONFIGURATION = 0x0b;
/** bhyve NVME_FID_MAX: feature IDs at or beyond it are invalid. */
export const NVME_FID_MAX = 0x19;
export const NVME_FEATURES_SEL_SUPPORTED = 0x3;
export const NVME_FEATURES_NS_SPECIFIC = 1 << 1;

// ---- log pages (§5.14.1) ----
export const NVME_LOG_ERROR = 0x01;
export const NVME_LOG_HEALTH_INFORMATION = 0x02;
export const NVME_LOG_FIRMWARE_SLOT = 0x03;
export const NVME_LOG_CHANGED_NAMESPACE = 0x04;
export const NVME_ERROR_LOG_SIZE = 64;
export const NVME_HEALTH_LOG_SIZE = 512;
export const NVME_FIRMWARE_LOG_SIZE = 512;
export const NVME_NS_LIST_SIZE = 4096;

// ---- asynchronous events (§5.2) ----
export const NVME_AE_TYPE_SMART = 1;
export const NVME_AE_TYPE_NOTICE = 2;
export const NVME_AEN_DEFAULT_MASK = 0x11f;
export const NVME_CRIT_WARN_ST_TEMPERATURE = 1 << 1;

// ---- identify (§5.15) ----
export const NVME_IDENTIFY_SIZE = 4096;
export const NVME_CNS_NAMESPACE = 0x00;
export const NVME_CNS_CONTROLLER = 0x01;
export const NVME_CNS_ACTIVE_NS_LIST = 0x02;
export const NVME_CNS_NS_ID_DESCRIPTORS = 0x03;
export const NVME_CNS_CONTROLLER_LIST = 0x13;

/** Reported temperature, Kelvin (room temperature, as bhyve). */
export const NVME_TEMPERATURE = 296;

// ---- PCI identity (bhyve-userland.md §6.0) ----
export const NVME_PCI_VENDOR = 0xfb5d;
export const NVME_PCI_DEVICE = 0x0a0a;
export const PCIS_STORAGE_NVM = 0x08;
export const PCIP_STORAGE_NVM_ENTERPRISE_NVMHCI_1_0 = 0x02;
export const NVME_MSIX_BAR = 4;

// ---- bhyve defaults (pci_nvme.c) ----
export const NVME_QUEUES = 16;
export const NVME_MAX_QENTRIES = 2048;
export const NVME_IOSLOTS = 8;
/** The FreeBSD OUI block bhyve takes default EUI-64s from (net/ieee_oui.h OUI_FREEBSD_NVME_LOW). */
export const OUI_FREEBSD_NVME_LOW = 0x589cfc200000n;
export const NVME_CNTRLTYPE_IO = 1;
/** Generic status "Namespace is Write Protected" (§4.6.1.2.1), for read-only backends. */
export const NVME_SC_NAMESPACE_IS_WRITE_PROTECTED = 0x20;
