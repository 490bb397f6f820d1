"""python3-libvirt call rate against one libvirt-protocol daemon socket.

Usage: libvirt_calls.py URI MODE COUNT
  MODE lookup: conn.lookupByName('bench').info()     (2 RPC calls per operation)
  MODE define: conn.defineXML(xml).undefine()        (2 RPC calls per operation)
Prints one JSON line: {"mode", "ops", "seconds", "ops_per_s"}. The connection is opened,
and a running domain 'bench' created if missing, before timing starts.
"""
import json
import sys
import time

import libvirt

libvirt.registerErrorHandler(lambda ctx, err: None, None)

uri, mode, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
conn = libvirt.open(uri)
xml = """<domain type='test'>
  <name>bench-def</name>
  <uuid>0b6e8a1c-5d2f-4e3a-8b7c-9d0e1f2a3b4c</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
</domain>"""

bench_xml = xml.replace('bench-def', 'bench').replace('0b6e8a1c', '1b6e8a1c')
try:
    conn.lookupByName('bench')
except libvirt.libvirtError:
    # test:///default forgets its domains when its last client disconnects: start one
    # transient domain for this connection's lifetime, the same on every daemon.
    conn.createXML(bench_xml, 0)

if mode == 'lookup':
    def op():
        conn.lookupByName('bench').info()
elif mode == 'define':
    def op():
        conn.defineXML(xml).undefine()
else:
    sys.exit('unknown mode ' + mode)

for _ in range(min(200, count)):  # warm-up
    op()
t0 = time.perf_counter()
for _ in range(count):
    op()
dt = time.perf_counter() - t0
conn.close()
print(json.dumps({'mode': mode, 'ops': count, 'seconds': dt, 'ops_per_s': count / dt}))
