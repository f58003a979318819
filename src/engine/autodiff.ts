/**
 * Reverse-mode differentiation over the graph: walks the nodes between the loss and
 * the requested tensors backwards, applying each op's vector-Jacobian rule and
 * adding the gradient nodes to the same graph.
 */
import { Tensor, Node } from './graph.js';
import { vjpRule } from './vjp-registry.js';
import { add } from './ops/elementwise.js';
import { expand } from './ops/shape.js';
import './ops.js';

/**
 * prev + d, where a broadcast (Expand) contribution is added from its source with
 * broadcasting, so the expanded copy is never materialised (the same values).
 */
function addContributions(prev: Tensor, d: Tensor): Tensor {
  const source = (t: Tensor): Tensor | null => (t.producer?.op === 'Expand' ? t.producer.inputs[0] : null);
  const sd = source(d);
  if (sd && !source(prev)) return add(prev, sd);
  const sp = source(prev);
  if (sp && !sd) return add(sp, d);
  return add(prev, d);
}

/**
 * Gradients of `loss` with respect to each tensor in `wrt` (a zero tensor where the loss
 * does not depend on it). `seed` is the incoming gradient of `loss` (default: ones).
 */
export function grad(loss: Tensor, wrt: Tensor[], seed?: Tensor): Tensor[] {
  const g = loss.graph;
  if (!seed && loss.size !== 1) throw new Error(`grad: loss ${loss} is not a scalar; pass a seed gradient`);
  if (loss.dtype !== 'float32' && loss.dtype !== 'float64') throw new Error(`grad: loss ${loss} is not a float tensor`);

  // Nodes on a path from some wrt tensor to the loss.
  const nodes = g.nodes.slice();
  const dependsOnWrt = new Set<Tensor>(wrt);
  for (const n of nodes) {
    if (n.inputs.some((t) => dependsOnWrt.has(t))) n.outputs.forEach((t) => dependsOnWrt.add(t));
  }
  const needed = new Set<Node>();
  const onPath = new Set<Tensor>([loss]);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (!n.outputs.some((t) => onPath.has(t))) continue;
    if (!n.outputs.some((t) => dependsOnWrt.has(t))) continue;
    needed.add(n);
    n.inputs.forEach((t) => onPath.add(t));
  }

  const grads = new Map<Tensor, Tensor>();
  const accumulate = (t: Tensor, d: Tensor): void => {
    if (d.shape.length !== t.shape.length || d.shape.some((v, i) => v !== t.shape[i])) {
      throw new Error(`grad: gradient ${d} does not match ${t}`);
    }
    const prev = grads.get(t);
    grads.set(t, prev ? addContributions(prev, d) : d);
  };
  accumulate(loss, seed ?? expand(g.scalar(1, loss.dtype), [...loss.shape]));

  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (!needed.has(n)) continue;
    const dOut = n.outputs.map((t) => grads.get(t));
    if (dOut.every((d) => d === undefined)) continue;
    const rule = vjpRule(n.op);
    if (!rule) throw new Error(`grad: no gradient rule for ${n.op}`);
    const dIn = rule(n, dOut);
    n.inputs.forEach((t, k) => {
      const d = dIn[k];
      if (d && dependsOnWrt.has(t)) accumulate(t, d);
    });
  }

  return wrt.map((t) => grads.get(t) ?? expand(g.scalar(0, t.dtype), [...t.shape]));
}
