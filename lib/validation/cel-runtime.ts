// The CEL evaluator (@bufbuild/cel) with the Kubernetes functions the rules use, loaded by ./cel.ts only when
// a rule is first compiled: loading it takes about 0.14 s, which a synth whose objects all come from the
// schema cache never needs.
import { celEnv, isCelError, parse, plan } from '@bufbuild/cel';
import { KUBERNETES_FUNCTIONS } from './cel-library';

export { timestampFromDate } from '@bufbuild/protobuf/wkt';

export const env = celEnv({ funcs: [...KUBERNETES_FUNCTIONS] });
export { isCelError, parse, plan };
