/**
 * The PHY behind MDIC (a Marvell M88E1011 as bhyve reports it; 82545EM manual §13.4.4
 * MDIC, IEEE 802.3 clause 22 registers): link up, auto-negotiation complete, 1000BASE-T
 * full duplex. Writes are accepted and ignored, as bhyve's e82545_write_mdi does; the PHY
 * address is not decoded. Pure.
 */
import {
  M88E1011_I_PHY_ID,
  PHY_1000T_STATUS,
  PHY_AUTONEG_ADV,
  PHY_ID1,
  PHY_ID2,
  PHY_LP_ABILITY,
  PHY_STATUS,
  E82545_REVISION_4,
} from './regs.js';

const MII_SR_LINK_STATUS = 0x0004;
const MII_SR_AUTONEG_CAPS = 0x0008;
const MII_SR_AUTONEG_COMPLETE = 0x0020;
const NWAY_AR_SELECTOR_FIELD = 0x0001;
const SR_1000T_LP_FD_CAPS = 0x0800;
const SR_1000T_REMOTE_RX_STATUS = 0x1000;
const SR_1000T_LOCAL_RX_STATUS = 0x2000;

export function readPhy(reg: number): number {
  switch (reg) {
    case PHY_STATUS:
      return MII_SR_LINK_STATUS | MII_SR_AUTONEG_CAPS | MII_SR_AUTONEG_COMPLETE;
    case PHY_AUTONEG_ADV:
      return NWAY_AR_SELECTOR_FIELD;
    case PHY_LP_ABILITY:
      return 0;
    case PHY_1000T_STATUS:
      return SR_1000T_LP_FD_CAPS | SR_1000T_REMOTE_RX_STATUS | SR_1000T_LOCAL_RX_STATUS;
    case PHY_ID1:
      return (M88E1011_I_PHY_ID >>> 16) & 0xffff;
    case PHY_ID2:
      return (M88E1011_I_PHY_ID | E82545_REVISION_4) & 0xffff;
    default:
      return 0;
  }
}
