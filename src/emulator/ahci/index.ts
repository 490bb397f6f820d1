/**
 * AHCI 1.3 SATA controller (bhyve pci_ahci.c; bhyve-userland.md §6.7; Serial ATA AHCI 1.3.1
 * spec; ATA8-ACS; MMC/SPC for ATAPI). Register offsets and bits named as FreeBSD's
 * ahci.h / ata.h name them. Constants and the table of contents only.
 */
export const MAX_PORTS = 32;
export const DEF_PORTS = 6;
export const AHCI_OFFSET = 0x100;
export const AHCI_STEP = 0x80;
export const AHCI_CL_SIZE = 32;
export const AHCI_MAX_SLOTS = 32;
/** Command slots offered: bhyve caps at the block layer's queue depth; 32 here. */
export const AHCI_SLOTS = 32;

// HBA registers
export const AHCI_CAP = 0x00;
export const AHCI_GHC = 0x04;
export const AHCI_IS = 0x08;
export const AHCI_PI = 0x0c;
export const AHCI_VS = 0x10;
export const AHCI_CCCC = 0x14;
export const AHCI_CCCP = 0x18;
export const AHCI_EM_LOC = 0x1c;
export const AHCI_EM_CTL = 0x20;
export const AHCI_CAP2 = 0x24;
export const AHCI_BOHC = 0x28;

export const AHCI_CAP_64BIT = 1 << 31;
export const AHCI_CAP_SNCQ = 1 << 30;
export const AHCI_CAP_SSNTF = 1 << 29;
export const AHCI_CAP_SMPS = 1 << 28;
export const AHCI_CAP_SSS = 1 << 27;
export const AHCI_CAP_SALP = 1 << 26;
export const AHCI_CAP_SAL = 1 << 25;
export const AHCI_CAP_SCLO = 1 << 24;
export const AHCI_CAP_ISS_SHIFT = 20;
export const AHCI_CAP_PMD = 1 << 15;
export const AHCI_CAP_SSC = 1 << 14;
export const AHCI_CAP_PSC = 1 << 13;
export const AHCI_CAP_NCS_SHIFT = 8;
export const AHCI_CAP_SXS = 1 << 5;
export const AHCI_CAP2_APST = 1 << 2;

export const AHCI_GHC_AE = 1 << 31;
export const AHCI_GHC_IE = 1 << 1;
export const AHCI_GHC_HR = 1 << 0;

// Port registers
export const AHCI_P_CLB = 0x00;
export const AHCI_P_CLBU = 0x04;
export const AHCI_P_FB = 0x08;
export const AHCI_P_FBU = 0x0c;
export const AHCI_P_IS = 0x10;
export const AHCI_P_IE = 0x14;
export const AHCI_P_CMD = 0x18;
export const AHCI_P_TFD = 0x20;
export const AHCI_P_SIG = 0x24;
export const AHCI_P_SSTS = 0x28;
export const AHCI_P_SCTL = 0x2c;
export const AHCI_P_SERR = 0x30;
export const AHCI_P_SACT = 0x34;
export const AHCI_P_CI = 0x38;
export const AHCI_P_SNTF = 0x3c;
export const AHCI_P_FBS = 0x40;

export const AHCI_P_IX_DHR = 1 << 0;
export const AHCI_P_IX_PS = 1 << 1;
export const AHCI_P_IX_DS = 1 << 2;
export const AHCI_P_IX_SDB = 1 << 3;
export const AHCI_P_IX_PC = 1 << 6;
export const AHCI_P_IX_PRC = 1 << 22;
export const AHCI_P_IX_HBF = 1 << 29;
export const AHCI_P_IX_TFE = 1 << 30;

export const AHCI_P_CMD_ST = 1 << 0;
export const AHCI_P_CMD_SUD = 1 << 1;
export const AHCI_P_CMD_POD = 1 << 2;
export const AHCI_P_CMD_CLO = 1 << 3;
export const AHCI_P_CMD_FRE = 1 << 4;
export const AHCI_P_CMD_CCS_SHIFT = 8;
export const AHCI_P_CMD_CCS_MASK = 0x1f << 8;
export const AHCI_P_CMD_FR = 1 << 14;
export const AHCI_P_CMD_CR = 1 << 15;
export const AHCI_P_CMD_ATAPI = 1 << 24;
export const AHCI_P_CMD_ACTIVE = 1 << 28;

export const AHCI_P_SCTL_DET_MASK = 0xf;
export const AHCI_P_SCTL_COMRESET = 0x1;
export const ATA_SS_DET_PHY_ONLINE = 0x3;
export const ATA_SS_SPD_GEN3 = 0x30;
export const ATA_SS_IPM_ACTIVE = 0x100;

export const ATA_SIGNATURE_DISK = 0x00000101;
export const ATA_SIGNATURE_ATAPI = 0xeb140101;

// Task file
export const ATA_S_ERROR = 0x01;
export const ATA_S_DSC = 0x10;
export const ATA_S_DRQ = 0x08;
export const ATA_S_READY = 0x40;
export const ATA_S_BUSY = 0x80;
export const ATA_E_ABORT = 0x04;
export const ATA_SENSE_ILLEGAL_REQUEST = 0x05;

// FIS
export const FIS_TYPE_REGH2D = 0x27;
export const FIS_TYPE_REGD2H = 0x34;
export const FIS_TYPE_SETDEVBITS = 0xa1;
export const FIS_TYPE_PIOSETUP = 0x5f;

// ATA commands
export const ATA_NOP = 0x00;
export const ATA_DATA_SET_MANAGEMENT = 0x06;
export const ATA_READ = 0x20;
export const ATA_READ48 = 0x24;
export const ATA_READ_DMA48 = 0x25;
export const ATA_READ_MUL48 = 0x29;
export const ATA_READ_LOG_EXT = 0x2f;
export const ATA_WRITE = 0x30;
export const ATA_WRITE48 = 0x34;
export const ATA_WRITE_DMA48 = 0x35;
export const ATA_WRITE_MUL48 = 0x39;
export const ATA_READ_VERIFY = 0x40;
export const ATA_READ_VERIFY48 = 0x42;
export const ATA_READ_LOG_DMA_EXT = 0x47;
export const ATA_READ_FPDMA_QUEUED = 0x60;
export const ATA_WRITE_FPDMA_QUEUED = 0x61;
export const ATA_SEND_FPDMA_QUEUED = 0x64;
export const ATA_PACKET_CMD = 0xa0;
export const ATA_ATAPI_IDENTIFY = 0xa1;
export const ATA_SMART_CMD = 0xb0;
export const ATA_READ_MUL = 0xc4;
export const ATA_WRITE_MUL = 0xc5;
export const ATA_SET_MULTI = 0xc6;
export const ATA_READ_DMA = 0xc8;
export const ATA_WRITE_DMA = 0xca;
export const ATA_STANDBY_IMMEDIATE = 0xe0;
export const ATA_IDLE_IMMEDIATE = 0xe1;
export const ATA_STANDBY_CMD = 0xe2;
export const ATA_IDLE_CMD = 0xe3;
export const ATA_CHECK_POWER_MODE = 0xe5;
export const ATA_SLEEP = 0xe6;
export const ATA_FLUSHCACHE = 0xe7;
export const ATA_FLUSHCACHE48 = 0xea;
export const ATA_ATA_IDENTIFY = 0xec;
export const ATA_SETFEATURES = 0xef;
export const ATA_SECURITY_FREEZE_LOCK = 0xf5;

export { AhciController } from './device.js';
export type { AhciPortConfig } from './device.js';
