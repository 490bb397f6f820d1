/**
 * Intel 82545EM (PCI/PCI-X Family of Gigabit Ethernet Controllers Software Developer's
 * Manual, 317453: §13 registers, §3.2 receive and §3.3 transmit descriptors, §5 EEPROM)
 * constants, named as FreeBSD's e1000_regs.h / e1000_defines.h name them for bhyve's
 * pci_e82545.c. Constants only.
 */

// ---- PCI identity (bhyve-userland.md §6.0) ----
export const E82545_VENDOR_ID_INTEL = 0x8086;
export const E82545_DEV_ID_82545EM_COPPER = 0x100f;
export const E82545_SUBDEV_ID = 0x1008;
export const E82545_REVISION_4 = 4;
export const PCIS_NETWORK_ETHERNET = 0x00;

export const E82545_BAR_REGISTER = 0;
export const E82545_BAR_REGISTER_LEN = 128 * 1024;
export const E82545_BAR_FLASH = 1;
export const E82545_BAR_FLASH_LEN = 64 * 1024;
export const E82545_BAR_IO = 2;
export const E82545_BAR_IO_LEN = 8;
export const E82545_IOADDR = 0;
export const E82545_IODATA = 4;
export const E82545_IO_REGISTER_MAX = 0x1ffff;

// ---- registers ----
export const E1000_CTRL = 0x0000;
export const E1000_CTRL_DUP = 0x0004;
export const E1000_STATUS = 0x0008;
export const E1000_EECD = 0x0010;
export const E1000_EERD = 0x0014;
export const E1000_MDIC = 0x0020;
export const E1000_FCAL = 0x0028;
export const E1000_FCAH = 0x002c;
export const E1000_FCT = 0x0030;
export const E1000_VET = 0x0038;
export const E1000_ICR = 0x00c0;
export const E1000_ITR = 0x00c4;
export const E1000_ICS = 0x00c8;
export const E1000_IMS = 0x00d0;
export const E1000_IMC = 0x00d8;
export const E1000_RCTL = 0x0100;
export const E1000_FCTTV = 0x0170;
export const E1000_TXCW = 0x0178;
export const E1000_TCTL = 0x0400;
export const E1000_TIPG = 0x0410;
export const E1000_AIT = 0x0458;
export const E1000_LEDCTL = 0x0e00;
export const E1000_PBA = 0x1000;
export const E1000_FCRTL = 0x2160;
export const E1000_FCRTH = 0x2168;
export const E1000_RDBAL = 0x2800;
export const E1000_RDBAH = 0x2804;
export const E1000_RDLEN = 0x2808;
export const E1000_RDH = 0x2810;
export const E1000_RDT = 0x2818;
export const E1000_RDTR = 0x2820;
export const E1000_RXDCTL = 0x2828;
export const E1000_RADV = 0x282c;
export const E1000_RSRPD = 0x2c00;
export const E1000_TDBAL = 0x3800;
export const E1000_TDBAH = 0x3804;
export const E1000_TDLEN = 0x3808;
export const E1000_TDH = 0x3810;
export const E1000_TDT = 0x3818;
export const E1000_TIDV = 0x3820;
export const E1000_TXDCTL = 0x3828;
export const E1000_TADV = 0x382c;
export const E1000_RXCSUM = 0x5000;
export const E1000_MTA = 0x5200;
export const E1000_RAL0 = 0x5400;
export const E1000_RAH15 = 0x547c;
export const E1000_VFTA = 0x5600;
export const E1000_MANC = 0x5820;

// Statistics (§13.7), all cleared on read.
export const E1000_STATS_BASE = 0x4000;
export const E1000_STATS_END = 0x4100;
export const E1000_MPC = 0x4010;
export const E1000_PRC64 = 0x405c;
export const E1000_GPRC = 0x4074;
export const E1000_BPRC = 0x4078;
export const E1000_MPRC = 0x407c;
export const E1000_GPTC = 0x4080;
export const E1000_GORCL = 0x4088;
export const E1000_GORCH = 0x408c;
export const E1000_GOTCL = 0x4090;
export const E1000_GOTCH = 0x4094;
export const E1000_ROC = 0x40ac;
export const E1000_TORL = 0x40c0;
export const E1000_TORH = 0x40c4;
export const E1000_TOTL = 0x40c8;
export const E1000_TOTH = 0x40cc;
export const E1000_TPR = 0x40d0;
export const E1000_TPT = 0x40d4;
export const E1000_PTC64 = 0x40d8;
export const E1000_MPTC = 0x40f0;
export const E1000_BPTC = 0x40f4;
export const E1000_TSCTC = 0x40f8;

// CTRL / STATUS
export const E1000_CTRL_RST = 0x04000000;
export const E1000_CTRL_VME = 0x40000000;
export const E1000_STATUS_FD = 0x00000001;
export const E1000_STATUS_LU = 0x00000002;
export const E1000_STATUS_SPEED_1000 = 0x00000080;

// Interrupt causes
export const E1000_ICR_TXDW = 0x00000001;
export const E1000_ICR_TXQE = 0x00000002;
export const E1000_ICR_LSC = 0x00000004;
export const E1000_ICR_RXDMT0 = 0x00000010;
export const E1000_ICR_RXO = 0x00000040;
export const E1000_ICR_RXT0 = 0x00000080;
export const E1000_ICR_SRPD = 0x00010000;

// RCTL
export const E1000_RCTL_EN = 0x00000002;
export const E1000_RCTL_UPE = 0x00000008;
export const E1000_RCTL_MPE = 0x00000010;
export const E1000_RCTL_LPE = 0x00000020;
export const E1000_RCTL_LBM_TCVR = 0x000000c0;
export const E1000_RCTL_MO_SHIFT = 12;
export const E1000_RCTL_BAM = 0x00008000;
export const E1000_RCTL_SZ_2048 = 0x00000000;
export const E1000_RCTL_SZ_1024 = 0x00010000;
export const E1000_RCTL_SZ_512 = 0x00020000;
export const E1000_RCTL_SZ_256 = 0x00030000;
export const E1000_RCTL_VFE = 0x00040000;
export const E1000_RCTL_BSEX = 0x02000000;
export const E1000_RCTL_SECRC = 0x04000000;

// TCTL
export const E1000_TCTL_EN = 0x00000002;

// RAH
export const E1000_RAH_AV = 0x80000000;

// EERD (82545EM manual §13.4.4): START, DONE, word address 15:8, data 31:16
export const E1000_EERD_START = 0x01;
export const E1000_EERD_DONE = 0x10;
export const E1000_EERD_ADDR_SHIFT = 8;
export const E1000_EERD_DATA_SHIFT = 16;
// EECD (Microwire EEPROM, §5.3)
export const E1000_EECD_SK = 0x01;
export const E1000_EECD_CS = 0x02;
export const E1000_EECD_DI = 0x04;
export const E1000_EECD_DO = 0x08;
export const E1000_EECD_REQ = 0x40;
export const E1000_EECD_GNT = 0x80;
export const E1000_EECD_PRES = 0x100;
export const E82545_EECD_FWE_EN = 0x20;
export const E82545_NVM_EEPROM_SIZE = 64;
export const NVM_MAC_ADDR = 0x00;
export const NVM_SUB_DEV_ID = 0x0b;
export const NVM_SUB_VEN_ID = 0x0c;
export const NVM_DEV_ID = 0x0d;
export const NVM_VEN_ID = 0x0e;
export const NVM_CHECKSUM_REG = 0x3f;
export const NVM_SUM = 0xbaba;

// MDIC and the PHY (M88E1011)
export const E1000_MDIC_REG_SHIFT = 16;
export const E1000_MDIC_PHY_SHIFT = 21;
export const E1000_MDIC_OP_WRITE = 0x04000000;
export const E1000_MDIC_OP_READ = 0x08000000;
export const E1000_MDIC_OP_MASK = 0x0c000000;
export const E1000_MDIC_READY = 0x10000000;
export const E1000_MDIC_IE = 0x20000000;
export const E1000_MDIC_ERROR = 0x40000000;
export const E1000_MDIC_DEST = 0x80000000;
export const PHY_STATUS = 0x01;
export const PHY_ID1 = 0x02;
export const PHY_ID2 = 0x03;
export const PHY_AUTONEG_ADV = 0x04;
export const PHY_LP_ABILITY = 0x05;
export const PHY_1000T_STATUS = 0x0a;
export const M88E1011_I_PHY_ID = 0x01410c20;

// Descriptors
export const E1000_DESC_SIZE = 16;
export const E1000_TXD_CMD_EOP = 0x01000000;
export const E1000_TXD_CMD_IFCS = 0x02000000;
export const E1000_TXD_CMD_IC = 0x04000000;
export const E1000_TXD_CMD_RS = 0x08000000;
export const E1000_TXD_CMD_DEXT = 0x20000000;
export const E1000_TXD_CMD_VLE = 0x40000000;
export const E1000_TXD_CMD_TCP = 0x01000000;
export const E1000_TXD_CMD_IP = 0x02000000;
export const E1000_TXD_CMD_TSE = 0x04000000;
export const E1000_TXD_DTYP_D = 0x00100000;
export const E1000_TXD_MASK = E1000_TXD_CMD_DEXT | 0x00f00000;
export const E1000_TXD_TYP_L = 0;
export const E1000_TXD_TYP_C = E1000_TXD_CMD_DEXT;
export const E1000_TXD_TYP_D = E1000_TXD_CMD_DEXT | E1000_TXD_DTYP_D;
export const E1000_TXD_STAT_DD = 0x01;
export const E1000_TXD_POPTS_IXSM = 0x01;
export const E1000_TXD_POPTS_TXSM = 0x02;
export const E1000_RXD_STAT_DD = 0x01;
export const E1000_RXD_STAT_EOP = 0x02;
export const E1000_RXD_STAT_IXSM = 0x04;
export const E1000_RXD_STAT_PIF = 0x80;

export const ETHER_ADDR_LEN = 6;
export const ETHER_CRC_LEN = 4;
export const ETHER_MIN_LEN = 64;
export const ETHER_VLAN_ENCAP_LEN = 4;
