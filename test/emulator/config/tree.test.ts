import { describe, expect, it } from 'vitest';
import { ConfigTree } from '../../../src/emulator/config/tree.js';
import { ConfigError } from '../../../src/emulator/config/errors.js';

describe('ConfigTree', () => {
  it('dumps leaves depth-first in insertion order', () => {
    const t = new ConfigTree();
    t.set('a', '1');
    t.set('n.x', '2');
    t.set('b', '3');
    t.set('n.y', '4');
    expect(t.dump()).toBe('a=1\nn.x=2\nn.y=4\nb=3\n');
  });

  it('moves a replaced leaf to the end of its own parent, nodes keep their place', () => {
    const t = new ConfigTree();
    t.set('a', '1');
    t.set('n.x', '2');
    t.set('n.y', '3');
    t.set('b', '4');
    t.set('n.x', '5');
    t.set('a', '6');
    expect(t.dump()).toBe('n.y=3\nn.x=5\nb=4\na=6\n');
  });

  it('refuses a leaf where a node exists and a node below a leaf, with exit 4', () => {
    const t = new ConfigTree();
    t.set('n.x', '1');
    expect(() => t.set('n', 'v')).toThrow(ConfigError);
    try {
      t.set('n', 'v');
    } catch (e) {
      expect((e as ConfigError).exitStatus).toBe(4);
      expect((e as ConfigError).message).toBe('Attempting to add value v to existing node n');
    }
    t.set('leaf', 'x');
    expect(() => t.set('leaf.child', 'y')).toThrow(/Failed to create configuration node leaf/);
    expect(t.warnings.at(-1)).toBe('Configuration node leaf is a child of existing variable leaf');
  });

  it('refuses empty path components', () => {
    const t = new ConfigTree();
    expect(() => t.set('a..b', '1')).toThrow(ConfigError);
    expect(t.warnings[0]).toBe('Invalid configuration node: a.');
  });

  it('expands %(var) references recursively when read, not when stored', () => {
    const t = new ConfigTree();
    t.set('dir', '/vm/%(name)');
    t.set('name', 'alpha');
    t.set('pci.0.2.0.path', '%(dir)/disk.img');
    expect(t.get('pci.0.2.0.path')).toBe('/vm/alpha/disk.img');
    expect(t.getRaw('pci.0.2.0.path')).toBe('%(dir)/disk.img');
    expect(t.dump()).toContain('pci.0.2.0.path=%(dir)/disk.img\n');
  });

  it('handles escapes and bad references like bhyve', () => {
    const t = new ConfigTree();
    t.set('a', '100\\%(x) and 50%%');
    expect(t.get('a')).toBe('100%(x) and 50%');
    t.set('b', 'no percent \\ here');
    expect(t.get('b')).toBe('no percent \\ here');
    t.set('c', 'x%(missing)y');
    expect(t.get('c')).toBe('xy');
    expect(t.warnings).toContain('Failed to fetch referenced configuration variable missing');
    t.set('d', 'open %(never');
    expect(t.get('d')).toBe('open %(never');
    t.set('e', '%()z');
    expect(t.get('e')).toBe('z');
  });

  it('stops a reference loop at depth 15 instead of recursing forever', () => {
    const t = new ConfigTree();
    t.set('loop', 'x%(loop)');
    const v = t.get('loop')!;
    expect(v.startsWith('x'.repeat(16))).toBe(true);
    expect(t.warnings).toContain('Too many recursive references in configuration value');
  });

  it('parses booleans, integers and sizes with errors naming the key', () => {
    const t = new ConfigTree();
    for (const [v, b] of [['TRUE', true], ['on', true], ['Yes', true], ['1', true], ['off', false], ['0', false], ['No', false]] as const) {
      t.set('k', v);
      expect(t.getBool('k', !b)).toBe(b);
    }
    t.set('k', 'maybe');
    expect(() => t.getBool('k', false)).toThrow('Invalid value maybe for boolean variable k');
    expect(t.getBool('absent', true)).toBe(true);
    t.set('n', '0x10');
    expect(t.getInt('n', 0)).toBe(16);
    t.set('n', '010');
    expect(t.getInt('n', 0)).toBe(8);
    t.set('n', '12abc');
    expect(() => t.getInt('n', 0)).toThrow("Invalid value for n: '12abc'");
    t.set('n', '70000');
    expect(() => t.getInt('n', 0, 1, 65535)).toThrow(ConfigError);
    t.set('m', '256');
    expect(t.getMemSize('m', 0)).toBe(256 * 2 ** 20);
    t.set('m', '2G');
    expect(t.getMemSize('m', 0)).toBe(2 * 2 ** 30);
    t.set('m', '2097152');
    expect(t.getMemSize('m', 0)).toBe(2097152);
    t.set('m', '1Q');
    expect(() => t.getMemSize('m', 0)).toThrow("invalid memsize '1Q'");
  });

  it('gives node-relative access for device code', () => {
    const t = new ConfigTree();
    t.set('pci.0.2.0.port.0.path', '/a');
    const dev = t.findNode('pci.0.2.0')!;
    expect(dev.find('port.0')!.get('path')).toBe('/a');
    expect(dev.find('port.1')).toBeUndefined();
    dev.create('port.1').set('type', 'cd');
    expect(t.get('pci.0.2.0.port.1.type')).toBe('cd');
    expect(() => dev.set('a.b', 'x')).toThrow('Invalid config node name a.b');
  });
});
