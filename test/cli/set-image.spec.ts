// `npm run set-image` (lib/set-image.ts setImageMain, in this process: test/commands.ts) and bumpImage.
import * as fs from 'fs';
import * as path from 'path';
import { bumpImage, SetImageError } from '../../lib/set-image';
import { LAB_FILE, snapshotTree, tempDir } from '../helpers';
import { ROOT, run, synthesizedGitops, withoutLockWait } from '../commands';

/** A copy of config/ with its environment synthesized into out/ (test/global-setup.ts); each test works on a copy. */
let template: string;
beforeAll(() => {
  template = tempDir();
  fs.cpSync(path.join(ROOT, 'config'), path.join(template, 'config'), { recursive: true });
  synthesizedGitops(path.join(template, 'out'));
});

function workspace(): { dir: string; config: string; out: string } {
  const dir = tempDir();
  fs.cpSync(template, dir, { recursive: true });
  return { dir, config: path.join(dir, 'config', 'lab.yaml'), out: path.join(dir, 'out') };
}

/** Lines that differ between two texts of the same length in lines. */
function changedLines(a: string, b: string): [string, string][] {
  const x = a.split('\n');
  const y = b.split('\n');
  expect(y).toHaveLength(x.length);
  return x.map((l, i): [string, string] => [l, y[i]]).filter(([l, m]) => l !== m);
}

describe('npm run set-image', () => {
  test('changes the tag line of the config and the image line of the Deployment, nothing else', async () => {
    const ws = workspace();
    const configBefore = fs.readFileSync(ws.config, 'utf8');
    const before = snapshotTree(ws.out);
    const r = await run('set-image', ['nginx', '43', '--config', ws.config, '--outdir', ws.out]);
    expect(withoutLockWait(r.stderr)).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('nginx: harbor.k-tech.cloud/msa/nginx:2 -> harbor.k-tech.cloud/msa/nginx:43');

    expect(changedLines(configBefore, fs.readFileSync(ws.config, 'utf8'))).toEqual([['        tag: "2"', '        tag: "43"']]);
    const after = snapshotTree(ws.out);
    const changed = Object.keys(after).filter((f) => after[f] !== before[f]);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    expect(changed).toEqual(['lab/workloads/deployment-nginx.yaml']);
    expect(changedLines(before[changed[0]], after[changed[0]])).toEqual([
      ['        - image: harbor.k-tech.cloud/msa/nginx:2', '        - image: harbor.k-tech.cloud/msa/nginx:43'],
    ]);
  });

  test.each([
    [['nginxx', '44'], /apps\.workloads: no workload "nginxx"; configured: login-js, nginx, register-js/],
    [['nginx', 'latest'], /apps\.workloads\.nginx\.image\.tag: tag "latest" floats/],
    [['nginx', 'v1 2'], /apps\.workloads\.nginx\.image\.tag: tag "v1 2" is not a docker tag/],
    [['nginx', '.rc1'], /is not a docker tag/],
    [['nginx', 'a'.repeat(129)], /at most 128 characters/],
  ])('refuses %j with a message naming the field, and changes nothing', async (args, message) => {
    const ws = workspace();
    const configBefore = fs.readFileSync(ws.config, 'utf8');
    const before = snapshotTree(ws.out);
    const r = await run('set-image', [...args, '--config', ws.config, '--outdir', ws.out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('nothing was changed');
    expect(fs.readFileSync(ws.config, 'utf8')).toBe(configBefore);
    expect(snapshotTree(ws.out)).toEqual(before);
    expect(fs.readdirSync(path.dirname(ws.config))).toEqual(fs.readdirSync(path.join(ROOT, 'config')));
  });

  test('usage errors exit 2; --help exits 0 and documents --config', async () => {
    expect((await run('set-image', ['nginx'])).status).toBe(2);
    expect((await run('set-image', ['--frobnicate', 'nginx', '1'])).status).toBe(2);
    const help = await run('set-image', ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--config <file>');
    expect(help.stdout).toContain('default: config/lab.yaml');
  });

  test('the default config is config/lab.yaml (a missing one is named)', async () => {
    const r = await run('set-image', ['nginx', '5'], { cwd: tempDir() });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('config/lab.yaml: invalid platform config');
  });
});

describe('bumpImage', () => {
  const lab = fs.readFileSync(LAB_FILE, 'utf8');

  test('keeps quoting, comments and every other byte of the file', () => {
    const { text, previousTag } = bumpImage(lab, 'config/lab.yaml', 'login-js', '1.4.2-rc.1');
    expect(previousTag).toBe('1');
    expect(changedLines(lab, text)).toEqual([['        tag: "1"', '        tag: "1.4.2-rc.1"']]);
  });

  test('a plain tag that would read back as a number gets quoted', () => {
    const plain = lab.replace('        tag: "2"', '        tag: build-2 # set by CI');
    const { text } = bumpImage(plain, 'config/lab.yaml', 'nginx', '1.10');
    expect(changedLines(plain, text)).toEqual([['        tag: build-2 # set by CI', '        tag: "1.10" # set by CI']]);
    expect(changedLines(plain, bumpImage(plain, 'config/lab.yaml', 'nginx', 'build-3').text)).toEqual([['        tag: build-2 # set by CI', '        tag: build-3 # set by CI']]);
  });

  test('errors are SetImageErrors naming the file and the field', () => {
    expect(() => bumpImage(lab, 'config/lab.yaml', 'toString', '1')).toThrow(SetImageError);
    expect(() => bumpImage(lab, 'config/lab.yaml', 'nginx', 'stable')).toThrow(/config\/lab\.yaml: apps\.workloads\.nginx\.image\.tag/);
  });
});
