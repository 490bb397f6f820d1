/**
 * xHCI and USB constants (eXtensible Host Controller Interface 1.1: §5.3 capability,
 * §5.4 operational, §5.5 runtime, §5.6 doorbell registers, §6.2 contexts, §6.4 TRBs,
 * §6.4.5 completion codes, §7.2 supported protocol capability; USB 2.0/3.x chapter 9
 * requests and descriptors), named as FreeBSD's xhcireg.h / usb.h name them where they
 * exist. Constants only.
 */

// ---- layout of BAR0, as bhyve's pci_xhci.c computes it ----
export const XHCI_MAX_DEVS = 8; // 4 USB 3 ports (1-4) + 4 USB 2 ports (5-8)
export const XHCI_MAX_SLOTS = 64;
export const XHCI_CAPLEN = 0x20;
export const XHCI_PORTREGS_START = 0x400;
export const XHCI_PORTREGS_SETSZ = 0x10;
export const XHCI_DBOFF = XHCI_CAPLEN + XHCI_PORTREGS_START + XHCI_MAX_DEVS * XHCI_PORTREGS_SETSZ; // 0x4A0
export const XHCI_RTSOFF = (XHCI_DBOFF + (XHCI_MAX_SLOTS + 1) * 32 + 0x1f) & ~0x1f; // 0xCC0
export const XHCI_REGSEND = XHCI_RTSOFF + 0x20 + 32; // one interrupter
export const XHCI_XECP = XHCI_REGSEND;
export const XHCI_BAR_SIZE = XHCI_REGSEND + 4 * 32;
export const XHCI_USB3_PORT_START = 1;
export const XHCI_USB2_PORT_START = XHCI_MAX_DEVS / 2 + 1;

// Capability registers
export const XHCI_CAPLENGTH = 0x00;
export const XHCI_HCSPARAMS1 = 0x04;
export const XHCI_HCSPARAMS2 = 0x08;
export const XHCI_HCSPARAMS3 = 0x0c;
export const XHCI_HCCPARAMS1 = 0x10;
export const XHCI_DBOFF_REG = 0x14;
export const XHCI_RTSOFF_REG = 0x18;
export const XHCI_HCCPARAMS2 = 0x1c;

// Operational registers (offsets from CAPLENGTH)
export const XHCI_USBCMD = 0x00;
export const XHCI_USBSTS = 0x04;
export const XHCI_PAGESIZE = 0x08;
export const XHCI_DNCTRL = 0x14;
export const XHCI_CRCR_LO = 0x18;
export const XHCI_CRCR_HI = 0x1c;
export const XHCI_DCBAAP_LO = 0x30;
export const XHCI_DCBAAP_HI = 0x34;
export const XHCI_CONFIG = 0x38;

export const XHCI_CMD_RS = 0x1;
export const XHCI_CMD_HCRST = 0x2;
export const XHCI_CMD_INTE = 0x4;
export const XHCI_CMD_HSEE = 0x8;
export const XHCI_CMD_CSS = 0x100;
export const XHCI_CMD_CRS = 0x200;

export const XHCI_STS_HCH = 0x1;
export const XHCI_STS_HSE = 0x4;
export const XHCI_STS_EINT = 0x8;
export const XHCI_STS_PCD = 0x10;
export const XHCI_STS_SRE = 0x400;
export const XHCI_STS_CNR = 0x800;
export const XHCI_STS_RW1C = XHCI_STS_HSE | XHCI_STS_EINT | XHCI_STS_PCD | XHCI_STS_SRE;

export const XHCI_CRCR_RCS = 0x1;
export const XHCI_CRCR_CS = 0x2;
export const XHCI_CRCR_CA = 0x4;
export const XHCI_CRCR_CRR = 0x8;

// PORTSC
export const XHCI_PS_CCS = 1 << 0;
export const XHCI_PS_PED = 1 << 1;
export const XHCI_PS_OCA = 1 << 3;
export const XHCI_PS_PR = 1 << 4;
export const XHCI_PS_PLS_SHIFT = 5;
export const XHCI_PS_PLS_MASK = 0xf << 5;
export const XHCI_PS_PP = 1 << 9;
export const XHCI_PS_SPEED_SHIFT = 10;
export const XHCI_PS_SPEED_MASK = 0xf << 10;
export const XHCI_PS_PIC_MASK = 0x3 << 14;
export const XHCI_PS_LWS = 1 << 16;
export const XHCI_PS_CSC = 1 << 17;
export const XHCI_PS_PEC = 1 << 18;
export const XHCI_PS_WRC = 1 << 19;
export const XHCI_PS_OCC = 1 << 20;
export const XHCI_PS_PRC = 1 << 21;
export const XHCI_PS_PLC = 1 << 22;
export const XHCI_PS_CEC = 1 << 23;
export const XHCI_PS_CAS = 1 << 24;
export const XHCI_PS_WCE = 1 << 25;
export const XHCI_PS_WDE = 1 << 26;
export const XHCI_PS_WOE = 1 << 27;
export const XHCI_PS_DR = 1 << 30;
export const XHCI_PS_WPR = 1 << 31;
export const XHCI_PS_CHANGE_BITS = XHCI_PS_CSC | XHCI_PS_PEC | XHCI_PS_WRC | XHCI_PS_OCC | XHCI_PS_PRC | XHCI_PS_PLC | XHCI_PS_CEC;
/** Port link states. */
export const UPS_PORT_LS_U0 = 0x00;
export const UPS_PORT_LS_U3 = 0x03;
export const UPS_PORT_LS_RX_DET = 0x05;
export const UPS_PORT_LS_POLL = 0x07;
export const UPS_PORT_LS_RESUME = 0x0f;
/** Port speed IDs (default protocol speed IDs, §7.2.2.1.1). */
export const USB_SPEED_FULL = 1;
export const USB_SPEED_LOW = 2;
export const USB_SPEED_HIGH = 3;
export const USB_SPEED_SUPER = 4;

// Runtime registers
export const XHCI_MFINDEX = 0x00;
export const XHCI_IR0 = 0x20;
export const XHCI_IMAN = 0x00;
export const XHCI_IMOD = 0x04;
export const XHCI_ERSTSZ = 0x08;
export const XHCI_ERSTBA_LO = 0x10;
export const XHCI_ERSTBA_HI = 0x14;
export const XHCI_ERDP_LO = 0x18;
export const XHCI_ERDP_HI = 0x1c;
export const XHCI_IMAN_IP = 0x1;
export const XHCI_IMAN_IE = 0x2;
export const XHCI_ERDP_EHB = 0x8;

// Extended capabilities
export const XHCI_ID_PROTOCOLS = 0x02;
/** "USB " name string of the supported protocol capability. */
export const XHCI_PROTOCOL_NAME_USB = 0x20425355;

// ---- TRBs (§6.4) ----
export const XHCI_TRB_SIZE = 16;
export const XHCI_TRB_3_CYCLE = 1 << 0;
export const XHCI_TRB_3_TC = 1 << 1; // Link: toggle cycle
export const XHCI_TRB_3_ENT = 1 << 1; // Normal: evaluate next TRB
export const XHCI_TRB_3_ISP = 1 << 2;
export const XHCI_TRB_3_CHAIN = 1 << 4;
export const XHCI_TRB_3_IOC = 1 << 5;
export const XHCI_TRB_3_IDT = 1 << 6;
export const XHCI_TRB_3_BSR = 1 << 9; // Address Device: block set address request
export const XHCI_TRB_3_DCEP = 1 << 9; // Configure Endpoint: deconfigure
export const XHCI_TRB_3_TYPE_SHIFT = 10;
export const XHCI_TRB_3_DIR_IN = 1 << 16;
export const XHCI_TRB_3_EP_SHIFT = 16;
export const XHCI_TRB_3_SLOT_SHIFT = 24;

export const XHCI_TRB_TYPE_NORMAL = 1;
export const XHCI_TRB_TYPE_SETUP_STAGE = 2;
export const XHCI_TRB_TYPE_DATA_STAGE = 3;
export const XHCI_TRB_TYPE_STATUS_STAGE = 4;
export const XHCI_TRB_TYPE_ISOCH = 5;
export const XHCI_TRB_TYPE_LINK = 6;
export const XHCI_TRB_TYPE_EVENT_DATA = 7;
export const XHCI_TRB_TYPE_NOOP = 8;
export const XHCI_TRB_TYPE_ENABLE_SLOT = 9;
export const XHCI_TRB_TYPE_DISABLE_SLOT = 10;
export const XHCI_TRB_TYPE_ADDRESS_DEVICE = 11;
export const XHCI_TRB_TYPE_CONFIGURE_EP = 12;
export const XHCI_TRB_TYPE_EVALUATE_CTX = 13;
export const XHCI_TRB_TYPE_RESET_EP = 14;
export const XHCI_TRB_TYPE_STOP_EP = 15;
export const XHCI_TRB_TYPE_SET_TR_DEQUEUE = 16;
export const XHCI_TRB_TYPE_RESET_DEVICE = 17;
export const XHCI_TRB_TYPE_NOOP_CMD = 23;
export const XHCI_TRB_EVENT_TRANSFER = 32;
export const XHCI_TRB_EVENT_CMD_COMPLETE = 33;
export const XHCI_TRB_EVENT_PORT_STS_CHANGE = 34;
export const XHCI_TRB_EVENT_HOST_CTRL = 37;

// Completion codes (§6.4.5)
export const XHCI_TRB_ERROR_SUCCESS = 1;
export const XHCI_TRB_ERROR_DATA_BUF = 2;
export const XHCI_TRB_ERROR_TRB = 5;
export const XHCI_TRB_ERROR_STALL = 6;
export const XHCI_TRB_ERROR_RESOURCE = 7;
export const XHCI_TRB_ERROR_NO_SLOTS = 9;
export const XHCI_TRB_ERROR_SLOT_NOT_ON = 11;
export const XHCI_TRB_ERROR_ENDP_NOT_ON = 12;
export const XHCI_TRB_ERROR_SHORT_PKT = 13;
export const XHCI_TRB_ERROR_PARAMETER = 17;
export const XHCI_TRB_ERROR_CONTEXT_STATE = 19;
export const XHCI_TRB_ERROR_EV_RING_FULL = 21;
export const XHCI_TRB_ERROR_CMD_RING_STOP = 24;
export const XHCI_TRB_ERROR_CMD_ABORTED = 25;
export const XHCI_TRB_ERROR_STOPPED = 26;

// ---- contexts (§6.2), 32-byte entries (HCCPARAMS1.CSZ = 0) ----
export const XHCI_CTX_SIZE = 32;
export const XHCI_MAX_ENDPOINTS = 32; // DCI 0 is the slot, 1..31 endpoints
export const XHCI_SLOT_ST_DISABLED = 0;
export const XHCI_SLOT_ST_DEFAULT = 1;
export const XHCI_SLOT_ST_ADDRESSED = 2;
export const XHCI_SLOT_ST_CONFIGURED = 3;
export const XHCI_ST_EPCTX_DISABLED = 0;
export const XHCI_ST_EPCTX_RUNNING = 1;
export const XHCI_ST_EPCTX_HALTED = 2;
export const XHCI_ST_EPCTX_STOPPED = 3;
export const XHCI_ST_EPCTX_ERROR = 4;
export const XHCI_EPTYPE_CONTROL = 4;
export const XHCI_EPTYPE_INT_IN = 7;

// ---- PCI identity ----
export const XHCI_PCI_VENDOR = 0x8086;
export const XHCI_PCI_DEVICE = 0x1e31;
export const PCIC_SERIALBUS = 0x0c;
export const PCIS_SERIALBUS_USB = 0x03;
export const PCIP_SERIALBUS_USB_XHCI = 0x30;
/** SBRN config register (USB release number) and its value for USB 3.0. */
export const PCI_USBREV = 0x60;
export const PCI_USB_REV_3_0 = 0x30;

// ---- USB chapter 9 ----
export const UT_READ = 0x80;
export const UT_CLASS = 0x20;
export const UT_INTERFACE = 0x01;
export const UT_ENDPOINT = 0x02;
export const UR_GET_STATUS = 0x00;
export const UR_CLEAR_FEATURE = 0x01;
export const UR_SET_FEATURE = 0x03;
export const UR_SET_ADDRESS = 0x05;
export const UR_GET_DESCRIPTOR = 0x06;
export const UR_SET_DESCRIPTOR = 0x07;
export const UR_GET_CONFIG = 0x08;
export const UR_SET_CONFIG = 0x09;
export const UR_GET_INTERFACE = 0x0a;
export const UR_SET_INTERFACE = 0x0b;
export const UR_SYNCH_FRAME = 0x0c;
export const UR_SET_SEL = 0x30;
export const UR_ISOCH_DELAY = 0x31;
export const UDESC_DEVICE = 0x01;
export const UDESC_CONFIG = 0x02;
export const UDESC_STRING = 0x03;
export const UDESC_INTERFACE = 0x04;
export const UDESC_ENDPOINT = 0x05;
export const UDESC_BOS = 0x0f;
export const UDESC_DEVICE_CAPABILITY = 0x10;
export const UDESC_ENDPOINT_SS_COMP = 0x30;
export const UF_DEVICE_REMOTE_WAKEUP = 1;
