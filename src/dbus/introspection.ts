/**
 * Introspection data of the org.libvirt objects tsvirtd serves: the subset of libvirt-dbus's
 * `org.libvirt.Connect` and `org.libvirt.Domain` interfaces that covers domain lifecycle,
 * with libvirt-dbus's member names and signatures (written here from its interface
 * description; members libvirt-dbus has and tsvirtd does not serve are simply absent, so
 * clients see UnknownMethod rather than a stub).
 */
import { CONNECT_INTERFACE, DOMAIN_INTERFACE } from './paths.js';

export interface MemberSpec {
  in: string;
  out: string;
}

export const CONNECT_METHODS: Record<string, MemberSpec> = {
  ListDomains: { in: 'u', out: 'ao' },
  DomainDefineXML: { in: 's', out: 'o' },
  DomainCreateXML: { in: 'su', out: 'o' },
  DomainLookupByName: { in: 's', out: 'o' },
  DomainLookupByUUID: { in: 's', out: 'o' },
  DomainLookupByID: { in: 'i', out: 'o' },
  GetCapabilities: { in: '', out: 's' },
  GetDomainCapabilities: { in: 'ssssu', out: 's' },
  NodeGetFreeMemory: { in: '', out: 't' },
  NodeGetSecurityModel: { in: '', out: '(ss)' },
};

export const CONNECT_PROPERTIES: Record<string, string> = {
  Encrypted: 'b',
  Hostname: 's',
  LibVersion: 't',
  Secure: 'b',
  Version: 't',
};

export const DOMAIN_METHODS: Record<string, MemberSpec> = {
  Create: { in: 'u', out: '' },
  Destroy: { in: 'u', out: '' },
  Shutdown: { in: 'u', out: '' },
  Reboot: { in: 'u', out: '' },
  Reset: { in: 'u', out: '' },
  Suspend: { in: '', out: '' },
  Resume: { in: '', out: '' },
  Undefine: { in: 'u', out: '' },
  GetXMLDesc: { in: 'u', out: 's' },
  GetState: { in: 'u', out: '(ii)' },
  GetStats: { in: 'uu', out: 'a{sv}' },
  GetVcpus: { in: 'u', out: 'u' },
  HasManagedSaveImage: { in: 'u', out: 'b' },
  GetMetadata: { in: 'isu', out: 's' },
};

export const DOMAIN_PROPERTIES: Record<string, { type: string; access: 'read' | 'readwrite' }> = {
  Active: { type: 'b', access: 'read' },
  Autostart: { type: 'b', access: 'readwrite' },
  Id: { type: 'u', access: 'read' },
  Name: { type: 's', access: 'read' },
  OSType: { type: 's', access: 'read' },
  Persistent: { type: 'b', access: 'read' },
  Updated: { type: 'b', access: 'read' },
  UUID: { type: 's', access: 'read' },
};

const STANDARD = `  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect"><arg name="xml_data" type="s" direction="out"/></method>
  </interface>
  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get"><arg name="interface" type="s" direction="in"/><arg name="property" type="s" direction="in"/><arg name="value" type="v" direction="out"/></method>
    <method name="GetAll"><arg name="interface" type="s" direction="in"/><arg name="properties" type="a{sv}" direction="out"/></method>
    <method name="Set"><arg name="interface" type="s" direction="in"/><arg name="property" type="s" direction="in"/><arg name="value" type="v" direction="in"/></method>
    <signal name="PropertiesChanged"><arg name="interface" type="s"/><arg name="changed_properties" type="a{sv}"/><arg name="invalidated_properties" type="as"/></signal>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
    <method name="GetMachineId"><arg name="machine_uuid" type="s" direction="out"/></method>
  </interface>
`;

/** Splits a D-Bus signature into its complete types ('su' → ['s', 'u'], 'a{sv}' → one). */
export function splitSignature(sig: string): string[] {
  const out: string[] = [];
  let i = 0;
  const one = (): void => {
    const c = sig[i++];
    if (c === 'a') one();
    else if (c === '(' || c === '{') {
      const close = c === '(' ? ')' : '}';
      while (sig[i] !== close) one();
      i++;
    }
  };
  while (i < sig.length) {
    const start = i;
    one();
    out.push(sig.slice(start, i));
  }
  return out;
}

function args(sig: string, direction: 'in' | 'out', names: string): string {
  return splitSignature(sig)
    .map((t, k) => `<arg name="${names}${k}" type="${t}" direction="${direction}"/>`)
    .join('');
}

function methods(spec: Record<string, MemberSpec>): string {
  return Object.entries(spec)
    .map(([name, m]) => `    <method name="${name}">${args(m.in, 'in', 'in')}${args(m.out, 'out', 'out')}</method>\n`)
    .join('');
}

function nodes(children: string[]): string {
  return children.map((c) => `  <node name="${c}"/>\n`).join('');
}

/** tsvirtd does not emit PropertiesChanged: clients re-read properties after events. */
const NO_CHANGE_SIGNAL = '<annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="false"/>';

const HEADER = '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n';

export function connectIntrospection(children: string[]): string {
  const props = Object.entries(CONNECT_PROPERTIES)
    .map(([n, t]) => `    <property name="${n}" type="${t}" access="read">${NO_CHANGE_SIGNAL}</property>\n`)
    .join('');
  return `${HEADER}<node>\n${STANDARD}  <interface name="${CONNECT_INTERFACE}">\n${props}${methods(CONNECT_METHODS)}    <signal name="DomainEvent"><arg name="domain" type="o"/><arg name="event" type="i"/><arg name="detail" type="i"/></signal>\n  </interface>\n${nodes(children)}</node>\n`;
}

export function domainIntrospection(): string {
  const props = Object.entries(DOMAIN_PROPERTIES)
    .map(([n, p]) => `    <property name="${n}" type="${p.type}" access="${p.access}">${NO_CHANGE_SIGNAL}</property>\n`)
    .join('');
  return `${HEADER}<node>\n${STANDARD}  <interface name="${DOMAIN_INTERFACE}">\n${props}${methods(DOMAIN_METHODS)}    <signal name="Reboot"/>\n  </interface>\n</node>\n`;
}

export function plainNode(children: string[]): string {
  return `${HEADER}<node>\n${STANDARD}${nodes(children)}</node>\n`;
}
