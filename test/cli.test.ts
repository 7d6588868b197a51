// Every *.spec.ts under test/cli/: the command lines, run in this process (test/commands.ts), and the few
// real processes they need. One spec: `npm test -- test/cli/faults.spec.ts`.
import { runSpecs } from './run-specs';

runSpecs('cli.test.ts');
