/**
 * libvirt's keepalive program (`src/rpc/virkeepaliveprotocol.x`): PING and PONG, both sent as
 * MESSAGE packets with an empty payload. A peer that advertised keepalive support answers
 * every PING with a PONG; a side that hears nothing for `count` intervals closes the link.
 */
export const KEEPALIVE_PROGRAM = 0x6b656570;
export const KEEPALIVE_PROTOCOL_VERSION = 1;
export const KEEPALIVE_PROC_PING = 1;
export const KEEPALIVE_PROC_PONG = 2;
