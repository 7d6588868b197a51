// Every *.spec.ts under test/ but those of test/cli/ (test/cli.test.ts): the components', the platform's and
// the validation's. One spec: `npm test -- test/harbor.spec.ts`.
import { runSpecs } from './run-specs';

runSpecs('specs.test.ts');
