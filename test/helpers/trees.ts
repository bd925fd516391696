/** Trees built node by node in tests (hand-made shapes, random trees) as the typed arrays of src/ml/tree.ts. */
import type { Tree } from '../../src/ml/tree.ts';

export interface TreeNodes {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  defaultLeft: number[];
  value: number[];
}

/** The tree of `nodes` adding to output `output`; cover 1 and gain 0 everywhere (scoring reads neither). */
export function treeOf(nodes: TreeNodes, output = 0): Tree {
  return {
    feature: Int32Array.from(nodes.feature),
    threshold: Float64Array.from(nodes.threshold),
    left: Int32Array.from(nodes.left),
    right: Int32Array.from(nodes.right),
    defaultLeft: Uint8Array.from(nodes.defaultLeft),
    value: Float64Array.from(nodes.value),
    cover: new Float64Array(nodes.feature.length).fill(1),
    gain: new Float64Array(nodes.feature.length),
    output,
  };
}
