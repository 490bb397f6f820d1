/**
 * Prints the kernel symbol of guest addresses (RIPs from a tsbhyve or QEMU log), for the
 * Debian kernel the Linux test boots (booted with nokaslr, as the test does):
 *
 *   npx vite-node test/linux/tools/symbolize.ts ffffffff81001234 0xffffffff8106a7b0 ...
 *   npx vite-node test/linux/tools/symbolize.ts --name native_read_msr    (address of a symbol)
 *
 * The first use boots the kernel once on QEMU TCG to read /proc/kallsyms (symbols.ts).
 */
import { linuxAssets } from '../guest/prepare.js';
import { kernelSymbolsViaQemu } from '../qemu/qemu-boot.js';

const got = await linuxAssets();
if ('missing' in got) throw new Error(got.missing);
const sym = await kernelSymbolsViaQemu(got);
const args = process.argv.slice(2).filter((a) => a !== '--');
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--name') {
    const n = args[++i]!;
    const a = sym.address(n);
    console.log(`${n} ${a === undefined ? '(not found)' : `0x${a.toString(16)}`}`);
  } else {
    const a = BigInt(args[i]!.startsWith('0x') ? args[i]! : `0x${args[i]}`);
    console.log(`0x${a.toString(16)} ${sym.lookup(a) ?? '(no symbol)'}`);
  }
}
