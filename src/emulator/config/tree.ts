/**
 * The bhyve configuration tree (bhyve_config(5); bhyve-userland.md §2.1): named nodes
 * holding string leaves, addressed by dotted paths (`pci.0.4.0.path`, `lpc.com1.path`).
 *
 * What it keeps exactly as bhyve's config.c: iteration order is insertion order; replacing
 * a leaf removes and re-adds it (it moves to the end of its own parent); a leaf may not
 * become a node or the reverse (exit 4); `%(path)` references are expanded when a value is
 * read, recursively up to depth 15, with `\` escaping the next character (and `%%`
 * accepted as a literal `%`, as bhyve_config(5) documents); `dump()` prints every leaf as
 * `full.path=value` depth-first. Typed getters apply bhyve's parsers (values.ts) and throw
 * a ConfigError (exit 4) naming the key on a malformed value.
 *
 * What it does not do: no I/O, no defaults (keys.ts sets those), no knowledge of which
 * keys exist. Not on a hot path: it is read during command-line parsing and assembly only.
 */
import { ConfigError, EXIT_ERROR, EXIT_USAGE } from './errors.js';
import { parseBool, parseInteger, parseMemSize, expandNumber } from './values.js';

const MAX_EXPANSION_DEPTH = 15;

/** One node of the tree; children are leaves (strings) or nodes, in insertion order. */
export class ConfigNode {
  readonly children = new Map<string, ConfigNode | string>();
  constructor(
    readonly tree: ConfigTree,
    /** Full dotted path of this node ('' for the root). */
    readonly path: string,
  ) {}

  /** Child node `name`, if it exists and is a node. */
  node(name: string): ConfigNode | undefined {
    const c = this.children.get(name);
    return c instanceof ConfigNode ? c : undefined;
  }

  /** Raw (unexpanded) leaf `name`. */
  raw(name: string): string | undefined {
    const c = this.children.get(name);
    return typeof c === 'string' ? c : undefined;
  }

  /** Leaf `name` with `%(...)` references expanded (get_config_value_node). */
  get(name: string): string | undefined {
    checkName(name);
    const c = this.children.get(name);
    if (c instanceof ConfigNode) this.tree.warn(`Attempt to fetch value of node ${join(this.path, name)}`);
    return typeof c === 'string' ? this.tree.expand(c) : undefined;
  }

  /** set_config_value_node: sets a leaf directly in this node (name without dots). */
  set(name: string, value: string): void {
    checkName(name);
    const c = this.children.get(name);
    if (c instanceof ConfigNode) {
      throw new ConfigError(`Attemping to add value ${value} to existing node ${join(this.path, name)}`, EXIT_ERROR);
    }
    if (c !== undefined) this.children.delete(name);
    this.children.set(name, value);
  }

  /** set_config_value_node_if_unset. */
  setIfUnset(name: string, value: string): void {
    if (!this.children.has(name)) this.set(name, value);
  }

  setBool(name: string, value: boolean): void {
    this.set(name, value ? 'true' : 'false');
  }

  /** Finds a node by a dotted path relative to this one (find_relative_config_node). */
  find(path: string): ConfigNode | undefined {
    return this.tree.lookup(this, path, false);
  }

  /** Finds or creates a node by a relative dotted path (create_relative_config_node). */
  create(path: string): ConfigNode {
    const n = this.tree.lookup(this, path, true);
    if (!n) throw new ConfigError(`Failed to create configuration node ${join(this.path, path)}`, EXIT_ERROR);
    return n;
  }

  /** Whether any child (leaf or node) is named `name`. */
  has(name: string): boolean {
    return this.children.has(name);
  }

  getBool(name: string, def: boolean): boolean {
    const v = this.get(name);
    if (v === undefined) return def;
    return boolOrThrow(join(this.path, name), v);
  }

  getInt(name: string, def: number, min?: number, max?: number): number {
    const v = this.get(name);
    if (v === undefined) return def;
    return intOrThrow(join(this.path, name), v, min, max);
  }
}

/** The whole configuration of one VM. */
export class ConfigTree {
  readonly root: ConfigNode = new ConfigNode(this, '');
  /** Warnings bhyve would print with warnx() (bad references and the like). */
  readonly warnings: string[] = [];
  private readonly onWarning?: (message: string) => void;

  constructor(opts: { onWarning?: (message: string) => void } = {}) {
    this.onWarning = opts.onWarning;
  }

  warn(message: string): void {
    this.warnings.push(message);
    this.onWarning?.(message);
  }

  /** @internal walks `path` from `parent`, optionally creating nodes (_lookup_config_node). */
  lookup(parent: ConfigNode, path: string, create: boolean): ConfigNode | undefined {
    let node = parent;
    const parts = path.split('.');
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i]!;
      if (name === '') {
        this.warn(`Invalid configuration node: ${path}`);
        return undefined;
      }
      const c = node.children.get(name);
      if (c instanceof ConfigNode) {
        node = c;
      } else if (c !== undefined) {
        this.warn(
          `Configuration node ${join(parent.path, path)} is a child of existing variable ${join(parent.path, parts.slice(0, i + 1).join('.'))}`,
        );
        return undefined;
      } else if (create) {
        const n = new ConfigNode(this, join(node.path, name));
        node.children.set(name, n);
        node = n;
      } else {
        return undefined;
      }
    }
    return node;
  }

  findNode(path: string): ConfigNode | undefined {
    return this.lookup(this.root, path, false);
  }

  createNode(path: string): ConfigNode {
    const n = this.lookup(this.root, path, true);
    if (!n) throw new ConfigError(`Failed to create configuration node ${path}`, EXIT_ERROR);
    return n;
  }

  /** set_config_value: creates intermediate nodes; replaces an existing leaf. */
  set(path: string, value: string): void {
    const dot = path.lastIndexOf('.');
    let node = this.root;
    let name = path;
    if (dot >= 0) {
      node = this.createNode(path.slice(0, dot));
      name = path.slice(dot + 1);
    }
    if (node.node(name)) {
      throw new ConfigError(`Attempting to add value ${value} to existing node ${path}`, EXIT_ERROR);
    }
    node.set(name, value);
  }

  setBool(path: string, value: boolean): void {
    this.set(path, value ? 'true' : 'false');
  }

  /** The stored string, without expansion (get_raw_config_value). */
  getRaw(path: string): string | undefined {
    const dot = path.lastIndexOf('.');
    let node: ConfigNode | undefined = this.root;
    let name = path;
    if (dot >= 0) {
      node = this.findNode(path.slice(0, dot));
      name = path.slice(dot + 1);
    }
    if (!node) return undefined;
    const c = node.children.get(name);
    if (c instanceof ConfigNode) this.warn(`Attempting to fetch value of node ${path}`);
    return typeof c === 'string' ? c : undefined;
  }

  /** The value with `%(...)` references expanded (get_config_value). */
  get(path: string): string | undefined {
    const raw = this.getRaw(path);
    return raw === undefined ? undefined : this.expand(raw);
  }

  has(path: string): boolean {
    return this.getRaw(path) !== undefined;
  }

  /** Expands `%(path)` references and `\`/`%%` escapes in a value. */
  expand(value: string): string {
    // As config.c: a value without '%' is returned verbatim (backslashes included).
    if (!value.includes('%')) return value;
    return this.expandAt(value, 0);
  }

  private expandAt(value: string, depth: number): string {
    let out = '';
    let i = 0;
    while (i < value.length) {
      const ch = value[i]!;
      if (ch === '%') {
        if (value[i + 1] === '%') {
          out += '%';
          i += 2;
          continue;
        }
        if (depth > MAX_EXPANSION_DEPTH) {
          this.warn('Too many recursive references in configuration value');
          out += '%';
          i++;
          continue;
        }
        const close = value[i + 1] === '(' && i + 2 < value.length ? value.indexOf(')', i + 2) : -1;
        if (close < 0) {
          this.warn(`Invalid reference in configuration value "${value}"`);
          out += '%';
          i++;
          continue;
        }
        const ref = value.slice(i + 2, close);
        i = close + 1;
        if (ref === '') {
          this.warn(`Empty reference in configuration value "${value}"`);
          continue;
        }
        const target = this.getRaw(ref);
        if (target === undefined) this.warn(`Failed to fetch referenced configuration variable ${ref}`);
        else out += this.expandAt(target, depth + 1);
      } else if (ch === '\\') {
        if (i + 1 >= value.length) {
          this.warn(`Trailing \\ in configuration value "${value}"`);
          i++;
        } else {
          out += value[i + 1];
          i += 2;
        }
      } else {
        out += ch;
        i++;
      }
    }
    return out;
  }

  /** get_config_bool_default; a malformed value is an error (exit 4), as in bhyve. */
  getBool(path: string, def: boolean): boolean {
    const v = this.get(path);
    if (v === undefined) return def;
    return boolOrThrow(path, v);
  }

  /** An integer key (strtol base 0, whole string, optional range); exit 4 when malformed. */
  getInt(path: string, def: number, min?: number, max?: number): number {
    const v = this.get(path);
    if (v === undefined) return def;
    return intOrThrow(path, v, min, max);
  }

  /** A size key with K/M/G/T suffixes (expand_number). */
  getSize(path: string, def: number): number {
    const v = this.get(path);
    if (v === undefined) return def;
    const n = expandNumber(v);
    if (n === undefined) throw new ConfigError(`Invalid value for ${path}: '${v}'`, EXIT_ERROR);
    return n;
  }

  /** A memory size as `-m` takes it (vm_parse_memsize: a bare number < 1 MiB is MiB). */
  getMemSize(path: string, def: number): number {
    const v = this.get(path);
    if (v === undefined) return def;
    const n = parseMemSize(v);
    if (n === undefined) throw new ConfigError(`invalid memsize '${v}'`, EXIT_USAGE);
    return n;
  }

  /** dump_config(): every leaf as `path=value\n`, depth-first in insertion order. */
  dump(): string {
    const lines: string[] = [];
    const walk = (node: ConfigNode, prefix: string): void => {
      for (const [name, c] of node.children) {
        if (c instanceof ConfigNode) walk(c, `${prefix}${name}.`);
        else lines.push(`${prefix}${name}=${c}\n`);
      }
    };
    walk(this.root, '');
    return lines.join('');
  }
}

function join(base: string, name: string): string {
  return base === '' ? name : `${base}.${name}`;
}

function checkName(name: string): void {
  if (name.includes('.')) throw new ConfigError(`Invalid config node name ${name}`, EXIT_ERROR);
}

function boolOrThrow(path: string, v: string): boolean {
  const b = parseBool(v);
  if (b === undefined) throw new ConfigError(`Invalid value ${v} for boolean variable ${path}`, EXIT_ERROR);
  return b;
}

function intOrThrow(path: string, v: string, min?: number, max?: number): number {
  const n = parseInteger(v, min, max);
  if (n === undefined) throw new ConfigError(`Invalid value for ${path}: '${v}'`, EXIT_ERROR);
  return n;
}
