/**
 * Vector-Jacobian rules, keyed by ONNX op type. Each op file registers the rule
 * next to the op's forward definition, so an op and its gradient are read together.
 */
import type { Node, Tensor } from './graph.js';

/** Given the gradients of a node's outputs (undefined = no gradient flows), return one per input. */
export type VjpRule = (node: Node, dOutputs: (Tensor | undefined)[]) => (Tensor | undefined)[];

const rules = new Map<string, VjpRule>();

export function registerVjp(op: string, rule: VjpRule): void {
  if (rules.has(op)) throw new Error(`vjp rule for ${op} registered twice`);
  rules.set(op, rule);
}

export function vjpRule(op: string): VjpRule | undefined {
  return rules.get(op);
}
