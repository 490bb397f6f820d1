/**
 * Object paths of the org.libvirt D-Bus API, as libvirt-dbus lays them out: one connect
 * object per driver (`/org/libvirt/BHyve`, `/org/libvirt/Test`, ...) and one object per
 * domain under it at `<connect>/domain/_<uuid with '-' written as '_'>`.
 */
export const BUS_NAME = 'org.libvirt';
export const CONNECT_INTERFACE = 'org.libvirt.Connect';
export const DOMAIN_INTERFACE = 'org.libvirt.Domain';
export const ERROR_NAME = 'org.libvirt.Error';

/** libvirt-dbus's connect path for a driver type ('BHYVE' → /org/libvirt/BHyve). */
export function connectPathFor(driverType: string): string {
  const known: Record<string, string> = { BHYVE: 'BHyve', TEST: 'Test', QEMU: 'QEMU', LXC: 'LXC' };
  const leaf = known[driverType.toUpperCase()] ?? driverType.replace(/[^A-Za-z0-9_]/g, '_');
  return `/org/libvirt/${leaf}`;
}

export function domainPath(connectPath: string, uuid: string): string {
  return `${connectPath}/domain/_${uuid.replace(/-/g, '_')}`;
}

/** The UUID named by a domain object path, or null when the path is not one. */
export function uuidFromDomainPath(connectPath: string, path: string): string | null {
  const prefix = `${connectPath}/domain/_`;
  if (!path.startsWith(prefix)) return null;
  const rest = path.slice(prefix.length);
  if (!/^[0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12}$/.test(rest)) return null;
  return rest.replace(/_/g, '-');
}
