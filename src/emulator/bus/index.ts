/** Port and MMIO dispatch tables (table of contents, no logic). */
export { PortBus, PORT_SPACE } from './port-bus.js';
export { MmioBus, MMIO_SPACE } from './mmio-bus.js';
export { BusError, checkRange, allOnes, type BusDevice, type AddressRange } from './range.js';
