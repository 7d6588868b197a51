// set-image's edit of the config file (lib/set-image.ts: bumpImage, writeConfigPreservingFile): one span of
// bytes changes, whatever the file's form; a value other workloads share is refused; the file stays the
// same file (mode, symbolic links).
import * as fs from 'fs';
import * as path from 'path';
import { bumpImage, configWriteTarget, SetImageError, writeConfigPreservingFile } from '../lib/set-image';
import { LAB_FILE, tempDir } from './helpers';

const lab = fs.readFileSync(LAB_FILE, 'utf8');
const NGINX_TAG = '        tag: "2"\n';

/** The byte ranges where two buffers differ, as [before, after] strings (latin1, so any byte shows). */
function changed(a: Buffer, b: Buffer): [string, string] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let ea = a.length;
  let eb = b.length;
  while (ea > start && eb > start && a[ea - 1] === b[eb - 1]) { ea--; eb--; }
  return [a.subarray(start, ea).toString('latin1'), b.subarray(start, eb).toString('latin1')];
}

describe('bumpImage: one span of the file changes', () => {
  test('bytes that are not UTF-8 (a Latin-1 comment) are kept, before and after the tag', () => {
    const latin1 = Buffer.from('# Caf\xe9 \xab lab \xbb, r\xe9vis\xe9 \xff\xfe\n', 'latin1');
    // Latin-1 bytes (é is 0xe9, invalid as UTF-8 here) in comments before, right after and below the tag.
    const body = Buffer.from(lab.replace(NGINX_TAG, '        tag: "2" # \xe9t\xe9\n'), 'latin1');
    const before = Buffer.concat([latin1, body, latin1]);
    expect(before.includes(Buffer.from('"2" # \xe9', 'latin1'))).toBe(true);
    const bump = bumpImage(before, 'config/lab.yaml', 'nginx', '43');
    expect(changed(before, bump.bytes)).toEqual(['2', '43']);
    expect(bump.bytes.length).toBe(before.length + 1);
    expect(bump.previousTag).toBe('2');
  });

  test('a UTF-8 file given as text changes only the tag, with multi-byte characters around it', () => {
    const text = lab.replace(NGINX_TAG, '        tag: "2"  # 빌드 번호 — set by CI ✓\n');
    const bump = bumpImage(text, 'config/lab.yaml', 'nginx', '44');
    expect(changed(Buffer.from(text), bump.bytes)).toEqual(['2', '44']);
    expect(bump.text).toBe(text.replace('tag: "2"  #', 'tag: "44"  #'));
  });

  test.each([
    ['literal, strip', '        tag: |-\n          2\n'],
    ['literal, strip, deeper indented', '        tag: |-\n              2\n'],
    ['folded', '        tag: >-\n          2\n'],
    ['literal with a header comment', '        tag: |- # set by CI\n          2\n'],
  ])('a block-scalar tag (%s) becomes a quoted value on its line, the rest kept', (_, block) => {
    const text = lab.replace(NGINX_TAG, block);
    expect(text).not.toBe(lab);
    const bump = bumpImage(text, 'config/lab.yaml', 'nginx', '45');
    const comment = block.includes('#') ? ' # set by CI' : '';
    expect(bump.text).toBe(lab.replace(NGINX_TAG, `        tag: "45"${comment}\n`));
    expect(bump.previousTag).toBe('2');
  });

  test('CRLF line endings are kept', () => {
    const text = lab.replace(NGINX_TAG, '        tag: |-\n          2\n').replace(/\n/g, '\r\n');
    const bump = bumpImage(text, 'config/lab.yaml', 'nginx', '46');
    expect(bump.text).toBe(lab.replace(NGINX_TAG, '        tag: "46"\n').replace(/\n/g, '\r\n'));
  });

  test('a plain tag that YAML reads as another type is quoted; YAML 1.1\'s booleans name no version and are refused', () => {
    const plain = lab.replace(NGINX_TAG, '        tag: build-2\n');
    // The one floating-tag rule (lib/config.ts) refuses a tag without a digit, as image-pinned always did.
    expect(() => bumpImage(plain, 'config/lab.yaml', 'nginx', 'yes')).toThrow(/tag "yes" floats \(it names no version and moves\)/);
    expect(bumpImage(plain, 'config/lab.yaml', 'nginx', '1e3').text).toContain('        tag: "1e3"\n');
    expect(bumpImage(plain, 'config/lab.yaml', 'nginx', '0x1F').text).toContain('        tag: "0x1F"\n');
    expect(bumpImage(plain, 'config/lab.yaml', 'nginx', 'build-3').text).toContain('        tag: build-3\n');
  });
});

describe('bumpImage: a value shared through a YAML alias is refused, naming the anchor and the workloads', () => {
  test('a tag anchored on one workload and aliased by two others', () => {
    const text = lab
      .replace(NGINX_TAG, '        tag: &build "2"\n')
      .replace(/( {4}login-js:\n {6}image:\n {8}repository: .*\n {8})tag: "1"/, '$1tag: *build')
      .replace(/( {4}register-js:\n {6}image:\n {8}repository: .*\n {8})tag: "1"/, '$1tag: *build');
    expect(text.match(/\*build/g)).toHaveLength(2);
    const e = (() => { try { bumpImage(text, 'config/lab.yaml', 'nginx', '47'); } catch (x) { return x as Error; } return undefined; })();
    expect(e).toBeInstanceOf(SetImageError);
    expect(e!.message).toBe('config/lab.yaml: apps.workloads.nginx.image.tag: the value is shared through the YAML anchor &build with ' +
      'workload "login-js", workload "register-js"; changing it would change them too. Give each workload its own value (write it out where *build stands), then run set-image again');
    // From the other side too: the alias user would change the anchor's owner.
    expect(() => bumpImage(text, 'config/lab.yaml', 'login-js', '47')).toThrow(/shared through the YAML anchor &build with workload "nginx", workload "register-js"/);
  });

  test('a whole image map shared through an alias', () => {
    const text = lab
      .replace('    nginx:\n      image:\n', '    nginx:\n      image: &img\n')
      .replace(/( {4}register-js:\n {6})image:\n {8}repository: .*\n {8}tag: "1"\n/, '$1image: *img\n');
    expect(text).toContain('image: *img');
    expect(() => bumpImage(text, 'config/lab.yaml', 'register-js', '48')).toThrow(/apps\.workloads\.register-js\.image\.tag: the value is shared through the YAML anchor &img with workload "nginx"; changing it would change it too/);
    expect(() => bumpImage(text, 'config/lab.yaml', 'nginx', '48')).toThrow(/anchor &img with workload "register-js"/);
    // login-js has its own image: its bump is fine.
    expect(bumpImage(text, 'config/lab.yaml', 'login-js', '48').text).toContain('tag: "48"');
  });

  test('an anchor nobody refers to is no reason to refuse', () => {
    const text = lab.replace(NGINX_TAG, '        tag: &t "2"\n');
    expect(bumpImage(text, 'config/lab.yaml', 'nginx', '49').text).toBe(lab.replace(NGINX_TAG, '        tag: &t "49"\n'));
  });
});

describe('writeConfigPreservingFile: the config stays the same file', () => {
  test('a symbolic link stays a link; the file it points to gets the content', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'shared'));
    fs.mkdirSync(path.join(dir, 'config'));
    const real = path.join(dir, 'shared', 'lab.yaml');
    fs.writeFileSync(real, 'old\n');
    const link = path.join(dir, 'config', 'lab.yaml');
    fs.symlinkSync(path.join('..', 'shared', 'lab.yaml'), link);
    writeConfigPreservingFile(link, 'new\n');
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(link)).toBe(path.join('..', 'shared', 'lab.yaml'));
    expect(fs.readFileSync(real, 'utf8')).toBe('new\n');
    // Nothing is left beside either.
    expect(fs.readdirSync(path.join(dir, 'shared'))).toEqual(['lab.yaml']);
    expect(fs.readdirSync(path.join(dir, 'config'))).toEqual(['lab.yaml']);
  });

  test('a chain of links is followed to the file', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'real.yaml'), 'old\n');
    fs.symlinkSync('real.yaml', path.join(dir, 'one.yaml'));
    fs.symlinkSync('one.yaml', path.join(dir, 'two.yaml'));
    expect(configWriteTarget(path.join(dir, 'two.yaml')).path).toBe(path.join(dir, 'real.yaml'));
    writeConfigPreservingFile(path.join(dir, 'two.yaml'), 'new\n');
    expect(fs.readlinkSync(path.join(dir, 'two.yaml'))).toBe('one.yaml');
    expect(fs.readFileSync(path.join(dir, 'real.yaml'), 'utf8')).toBe('new\n');
  });

  test.each(['600', '640', '664', '755'])('the mode %s is kept, whatever the umask', (octal) => {
    const mode = parseInt(octal, 8);
    const dir = tempDir();
    const file = path.join(dir, 'lab.yaml');
    fs.writeFileSync(file, 'old\n');
    fs.chmodSync(file, mode);
    const umask = process.umask(0o077);
    try {
      writeConfigPreservingFile(file, 'new\n');
    } finally {
      process.umask(umask);
    }
    expect(fs.statSync(file).mode & 0o7777).toBe(mode);
    expect(fs.readFileSync(file, 'utf8')).toBe('new\n');
  });

  test('bytes are written as given', () => {
    const dir = tempDir();
    const file = path.join(dir, 'lab.yaml');
    fs.writeFileSync(file, 'old\n');
    const bytes = Buffer.from([0x23, 0x20, 0xe9, 0xff, 0x0a]);
    writeConfigPreservingFile(file, bytes);
    expect(fs.readFileSync(file)).toEqual(bytes);
  });

  test('a failed write leaves the file and its folder as they were', () => {
    const dir = tempDir();
    const file = path.join(dir, 'lab.yaml');
    fs.writeFileSync(file, 'old\n');
    // A write that fails after the staged file exists: it is removed.
    expect(() => writeConfigPreservingFile(file, 42 as unknown as string)).toThrow();
    expect(fs.readFileSync(file, 'utf8')).toBe('old\n');
    expect(fs.readdirSync(dir)).toEqual(['lab.yaml']);
    if (process.getuid?.() === 0) return; // root writes into a read-only folder anyway
    fs.chmodSync(dir, 0o555);
    try {
      expect(() => writeConfigPreservingFile(file, 'new\n')).toThrow(/EACCES/);
    } finally {
      fs.chmodSync(dir, 0o755);
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('old\n');
    expect(fs.readdirSync(dir)).toEqual(['lab.yaml']);
  });

  test('bumpImage and writeConfigPreservingFile together: a linked, read-only-for-others, Latin-1 config', () => {
    const dir = tempDir();
    const real = path.join(dir, 'real.yaml');
    const original = Buffer.concat([Buffer.from('# r\xe9vis\xe9\n', 'latin1'), Buffer.from(lab)]);
    fs.writeFileSync(real, original);
    fs.chmodSync(real, 0o640);
    const link = path.join(dir, 'lab.yaml');
    fs.symlinkSync('real.yaml', link);
    const bump = bumpImage(fs.readFileSync(link), link, 'nginx', '50');
    writeConfigPreservingFile(link, bump.bytes);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.statSync(real).mode & 0o777).toBe(0o640);
    expect(changed(original, fs.readFileSync(real))).toEqual(['2', '50']);
  });
});
