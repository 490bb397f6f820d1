/**
 * Typed interpretation of configuration strings, as bhyve reads them at use time
 * (bhyve-userland.md §2.1; config.c `_bool_value`, strtol/strtoul with base 0,
 * libutil `expand_number`, libvmmapi `vm_parse_memsize`).
 *
 * Pure functions returning `undefined` for a value bhyve would reject; callers turn that
 * into a ConfigError naming the key. Numbers are JavaScript numbers limited to the safe
 * integer range (sizes up to 8 PiB), which covers every key bhyve defines.
 */

/** `true|on|yes|1` → true, `false|off|no|0` → false (words case-insensitive), else undefined. */
export function parseBool(value: string): boolean | undefined {
  const v = value.toLowerCase();
  if (v === 'true' || v === 'on' || v === 'yes' || value === '1') return true;
  if (v === 'false' || v === 'off' || v === 'no' || value === '0') return false;
  return undefined;
}

/**
 * strtol/strtoul(value, &end, base) prefix scan: returns the parsed value and how many
 * characters it consumed (0 when no digits). Base 0 picks 0x → 16, leading 0 → 8, else 10.
 */
export function scanInteger(value: string, base = 0): { value: number; consumed: number } {
  let i = 0;
  while (i < value.length && ' \t\n\v\f\r'.includes(value[i]!)) i++;
  let neg = false;
  if (value[i] === '+' || value[i] === '-') {
    neg = value[i] === '-';
    i++;
  }
  let b = base;
  if ((b === 0 || b === 16) && value[i] === '0' && (value[i + 1] === 'x' || value[i + 1] === 'X')) {
    // "0x" counts only when a hex digit follows; otherwise strtol consumes just the "0".
    if (/[0-9a-fA-F]/.test(value[i + 2] ?? '')) {
      i += 2;
      b = 16;
    }
  }
  if (b === 0) b = value[i] === '0' ? 8 : 10;
  const start = i;
  let n = 0;
  for (; i < value.length; i++) {
    const d = parseInt(value[i]!, 36);
    if (Number.isNaN(d) || d >= b) break;
    n = n * b + d;
  }
  if (i === start) return { value: 0, consumed: 0 };
  return { value: neg ? -n : n, consumed: i };
}

/**
 * A whole-string integer as bhyve's `parse_int_value` accepts it (strtol base 0, nothing
 * trailing, within [min, max]); undefined otherwise.
 */
export function parseInteger(value: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value.length === 0) return undefined;
  const r = scanInteger(value, 0);
  if (r.consumed === 0 || r.consumed !== value.length) return undefined;
  if (!Number.isSafeInteger(r.value) || r.value < min || r.value > max) return undefined;
  return r.value;
}

/** A whole-string hexadecimal value as `strtol(value, NULL, 16)` reads `pcireg.*` keys. */
export function parseHex(value: string, max: number): number | undefined {
  const r = scanInteger(value, 16);
  if (r.consumed === 0 || r.consumed !== value.length || r.value < 0 || r.value > max) return undefined;
  return r.value;
}

const SHIFTS: Record<string, number> = { b: 0, k: 10, m: 20, g: 30, t: 40, p: 50, e: 60 };

/**
 * libutil `expand_number`: an unsigned number (base 0) with an optional one-letter unit
 * (B, K, M, G, T, P, E, case-insensitive). Undefined on a bad unit, trailing text, a
 * negative number or a result beyond the safe integer range.
 */
export function expandNumber(value: string): number | undefined {
  const r = scanInteger(value, 0);
  if (r.consumed === 0 || r.value < 0) return undefined;
  const rest = value.slice(r.consumed);
  if (rest.length === 0) return r.value;
  if (rest.length !== 1) return undefined;
  const shift = SHIFTS[rest.toLowerCase()];
  if (shift === undefined) return undefined;
  const result = r.value * 2 ** shift;
  return Number.isSafeInteger(result) ? result : undefined;
}

const MiB = 1024 * 1024;

/**
 * libvmmapi `vm_parse_memsize`: a plain number below 1 MiB is a count of MiB (so `-m 256`
 * means 256 MiB); otherwise `expand_number` (no suffix = bytes).
 */
export function parseMemSize(value: string): number | undefined {
  const r = scanInteger(value, 0);
  if (value.length > 0 && r.consumed === value.length) {
    if (r.value < 0) return undefined;
    const bytes = r.value < MiB ? r.value * MiB : r.value;
    return Number.isSafeInteger(bytes) ? bytes : undefined;
  }
  return expandNumber(value);
}
