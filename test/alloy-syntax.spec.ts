import { AlloyComponent, AlloyExpression, renderAlloyConfig } from '../lib/alloy-syntax';
import { readAlloyConfig } from './alloy-reader';

describe('alloy-syntax', () => {
  const write = new AlloyComponent('loki.write', 'default', {
    blocks: [{ name: 'endpoint', attributes: { url: 'http://loki/push', tenant_id: 'a "quoted"\\tenant' } }],
  });
  const source = new AlloyComponent('loki.source.file', 'files', {
    comment: 'why it is here',
    attributes: {
      targets: [{ __path__: '/var/log/*.log', 'app.kubernetes.io/name': 'x' }],
      forward_to: [write.export('receiver')],
      tail_from_end: true,
      max_line_size: 1024,
      node: AlloyExpression.concat('node=', AlloyExpression.env('NODE')),
    },
  });

  test('what it writes reads back as the same values and references', () => {
    const [src, dst] = readAlloyConfig(renderAlloyConfig([source, write]));
    expect(src).toEqual({
      name: 'loki.source.file', label: 'files', blocks: [],
      attributes: {
        targets: [{ __path__: '/var/log/*.log', 'app.kubernetes.io/name': 'x' }],
        forward_to: [{ ref: 'loki.write.default.receiver' }],
        tail_from_end: true,
        max_line_size: 1024,
        node: { concat: ['node=', { call: 'sys.env', args: ['NODE'] }] },
      },
    });
    expect(dst.blocks[0].attributes.tenant_id).toBe('a "quoted"\\tenant');
  });

  test('the comment is written above the component', () => {
    expect(renderAlloyConfig([source, write])).toMatch(/^\/\/ why it is here\nloki\.source\.file "files" \{/);
  });

  test('refuses a reference to a component outside the configuration, and a component declared twice', () => {
    expect(() => renderAlloyConfig([source])).toThrow('Alloy component loki.source.file.files refers to loki.write.default, which is not part of the configuration');
    expect(() => renderAlloyConfig([write, new AlloyComponent('loki.write', 'default', {})])).toThrow('Alloy component loki.write.default is declared twice');
  });

  test('refuses names Alloy would not read, and Helm template delimiters the chart would evaluate', () => {
    expect(() => new AlloyComponent('loki', 'x', {})).toThrow(/not an Alloy component name/);
    expect(() => new AlloyComponent('loki.write', 'my-label', {})).toThrow(/must be an identifier/);
    expect(() => renderAlloyConfig([new AlloyComponent('loki.write', 'x', { attributes: { url: '{{ .Values.x }}' } })])).toThrow(/tpl/);
  });
});
