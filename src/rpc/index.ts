/**
 * tsvirt/rpc: libvirt's remote protocol for tsvirt — the DriverApi a hypervisor driver
 * implements, the server tsvirtd runs, the client tsvirsh uses, and the in-memory TEST
 * driver for tests.
 */
export * from './driver-api.js';
export { RpcServer, RW_SOCKET_NAME, RO_SOCKET_NAME, PROTOCOL_LIBVIRT_VERSION, type RpcServerOptions } from './server/server.js';
export { RpcClient, RemoteCallError, ConnectionClosedError, type RpcClientOptions } from './client.js';
export { RemoteProcs, type ProcedureDef, type ArgsOf, type RetOf } from './protocol/remote-procedures.js';
export { VIR_ERR, VIR_FROM, VirError, virErr, toVirError, isVirError, formatVirMessage, type VirErrorName, type VirFromName } from '../xml/errors.js';
export { TestDriver } from './test-driver.js';
export { RemoteDriver } from './remote-driver.js';
export { uuidToBytes, uuidToString, parseUuid } from '../xml/uuid.js';
export { createLogger, type Logger, type LogLevel } from './log.js';
