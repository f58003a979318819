/**
 * Half-precision weights for downloads (`biggan export-web --fp16`): every large float32
 * initializer is stored as float16 and cast back to float32 by a Cast node, so the file is about
 * half the size while every operation still computes in float32 (onnxruntime folds the casts
 * once, at session creation).
 */
import onnxProto from 'onnx-proto';
import { setFloat16 } from '@petamoriken/float16';

const { onnx } = onnxProto;
const FLOAT = 1;
const FLOAT16 = 10;
/** Smaller tensors (biases, BN statistics) stay float32: no size to win, some precision to lose. */
const MIN_ELEMENTS = 1024;

function float32Values(t: onnxProto.onnx.ITensorProto): Float32Array {
  if (t.rawData && t.rawData.length) {
    const raw = t.rawData;
    const copy = new Uint8Array(raw.length);
    copy.set(raw);
    return new Float32Array(copy.buffer);
  }
  return Float32Array.from(t.floatData ?? []);
}

/** The model with its large float32 initializers stored as float16 (+ Cast nodes). */
export function halfPrecisionWeights(modelBytes: Uint8Array): { bytes: Uint8Array; converted: number } {
  const model = onnx.ModelProto.decode(modelBytes);
  const graph = model.graph!;
  const casts: onnxProto.onnx.INodeProto[] = [];
  let converted = 0;
  for (const init of graph.initializer ?? []) {
    if (init.dataType !== FLOAT) continue;
    const values = float32Values(init);
    if (values.length < MIN_ELEMENTS) continue;
    const half = new Uint8Array(values.length * 2);
    const view = new DataView(half.buffer);
    for (let i = 0; i < values.length; i++) setFloat16(view, i * 2, values[i], true); // round to nearest even
    const name = init.name!;
    init.name = `${name}__fp16`;
    init.dataType = FLOAT16;
    init.floatData = [];
    init.rawData = half;
    casts.push(onnx.NodeProto.create({
      name: `${name}__to_float32`, opType: 'Cast', input: [init.name], output: [name],
      attribute: [onnx.AttributeProto.create({ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT })],
    }));
    converted++;
  }
  graph.node = [...casts, ...(graph.node ?? [])];
  return { bytes: onnx.ModelProto.encode(model).finish(), converted };
}
