// lib/config-edit.ts editConfigField: one field's line of a config file replaced, added or removed, every
// other byte kept, and the result parsed again (the tag's own cases are in test/set-image-file.spec.ts).
import * as fs from 'fs';
import { ConfigEditError, editConfigField } from '../lib/config-edit';
import { parseConfig } from '../lib/config';
import { chartSource } from '../lib/versions';
import { LAB_FILE } from './helpers';

const lab = fs.readFileSync(LAB_FILE, 'utf8');
const FILE = 'config/lab.yaml';
const ctx = (field: string) => ({ file: FILE, field, command: 'promote' });
/** The default version of the Istio charts: an override to it is valid with any versions.yaml. */
const ISTIO = chartSource('istiod').version;
const ISTIO_SECTION = 'istio:\n  namespace: istio-system\n';

function edit(text: string, keys: string[], value: string | undefined) {
  return editConfigField(text, parseConfig(text, FILE), { keys, value }, ctx(keys.join('.')));
}

describe('editConfigField', () => {
  test('a missing field is added as one line after its mapping\'s first line, at its indentation', () => {
    expect(lab).toContain(ISTIO_SECTION);
    const e = edit(lab, ['istio', 'chartVersion'], ISTIO);
    expect(e.text).toBe(lab.replace(ISTIO_SECTION, `${ISTIO_SECTION}  chartVersion: ${ISTIO}\n`));
    expect(e.kind).toBe('added');
    expect(e.newLine).toBe(`  chartVersion: ${ISTIO}`);
    expect(e.text.split('\n')[e.line - 1]).toBe(e.newLine);
    expect(e.config.istio!.chartVersion).toBe(ISTIO);
  });

  test('a present field\'s line is removed with its comment; a comment above it stays and is reported', () => {
    const text = lab.replace(ISTIO_SECTION, `${ISTIO_SECTION}  # pinned for the upgrade\n  chartVersion: ${ISTIO} # until June\n`);
    const e = edit(text, ['istio', 'chartVersion'], undefined);
    expect(e.text).toBe(lab.replace(ISTIO_SECTION, `${ISTIO_SECTION}  # pinned for the upgrade\n`));
    expect(e.kind).toBe('removed');
    expect(e.oldLine).toBe(`  chartVersion: ${ISTIO} # until June`);
    expect(text.split('\n')[e.line - 1]).toBe(e.oldLine);
    expect(e.commentAbove).toBe('# pinned for the upgrade');
    expect(e.config.istio!.chartVersion).toBeUndefined();
  });

  test('a present field\'s value is replaced in place, keeping its quotes and comment', () => {
    const text = lab.replace(ISTIO_SECTION, `${ISTIO_SECTION}  chartVersion: '0.0.0' # old\n`);
    // 0.0.0 is not listed in versions.yaml: the file before the edit is not read as a config here.
    const before = parseConfig(lab.replace(ISTIO_SECTION, `${ISTIO_SECTION}  chartVersion: '${ISTIO}' # old\n`), FILE);
    const e = editConfigField(text, { ...before, istio: { ...before.istio, chartVersion: '0.0.0' } } as typeof before,
      { keys: ['istio', 'chartVersion'], value: ISTIO }, ctx('istio.chartVersion'));
    expect(e.kind).toBe('replaced');
    expect([e.oldLine, e.newLine]).toEqual(["  chartVersion: '0.0.0' # old", `  chartVersion: '${ISTIO}' # old`]);
  });

  test('CRLF line endings are kept on an added line', () => {
    const crlf = lab.replace(/\n/g, '\r\n');
    const e = edit(crlf, ['istio', 'chartVersion'], ISTIO);
    expect(e.text).toBe(crlf.replace(ISTIO_SECTION.replace(/\n/g, '\r\n'), `${ISTIO_SECTION}  chartVersion: ${ISTIO}\n`.replace(/\n/g, '\r\n')));
  });

  test('an edit after which the config is invalid is refused, naming the file and the field', () => {
    expect(() => edit(lab, ['istio', 'chartVersion'], '9.9.9'))
      .toThrow(/^config\/lab\.yaml: istio\.chartVersion: the edited file would not be a valid config \(.*9\.9\.9 is not a version versions\.yaml lists/);
  });

  test('a flow mapping, or a field the file does not hold, is refused rather than rewritten', () => {
    const flow = lab.replace('keda:\n  namespace: keda\n', 'keda: { namespace: keda }\n');
    expect(() => edit(flow, ['keda', 'chartVersion'], chartSource('keda').version)).toThrow(ConfigEditError);
    expect(() => edit(flow, ['keda', 'chartVersion'], chartSource('keda').version)).toThrow(/keda\.chartVersion: its mapping is written in flow style/);
    expect(() => edit(lab, ['istio', 'chartVersion'], undefined)).toThrow(/istio\.chartVersion: is not in the file, so there is nothing to remove/);
  });
});
