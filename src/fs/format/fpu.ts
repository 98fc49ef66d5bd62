// The vcpu's fpu and debugregs files: struct kvm_fpu and struct
// kvm_debugregs as `name value` lines, each padded to its width
// (st0..st7 80 bits, xmm0..xmm15 128 bits).
import { DEBUGREG_FIELDS, FPU_FIELDS, type Debugregs, type Fpu } from '../../backend/types-state.js';
import { parseValues, renderValues } from './fields.js';

export const renderFpu = (fpu: Fpu): string => renderValues(FPU_FIELDS, fpu);
export const parseFpu = (text: string): Partial<Fpu> => parseValues(FPU_FIELDS, text);

export const renderDebugregs = (regs: Debugregs): string => renderValues(DEBUGREG_FIELDS, regs);
export const parseDebugregs = (text: string): Partial<Debugregs> => parseValues(DEBUGREG_FIELDS, text);
