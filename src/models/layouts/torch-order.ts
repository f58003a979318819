/**
 * The key order of torch's Module.state_dict(), which the manifests and upstream files
 * list: per module its own entries (parameters before buffers: `rank` orders them, ties
 * keep the given order), then its children, ModuleList children by index.
 */
export function torchStateDictOrder(keys: readonly string[], rank: (key: string) => number): string[] {
  interface Node {
    own: string[];
    children: Map<string, Node>;
  }
  const root: Node = { own: [], children: new Map() };
  for (const key of keys) {
    let node = root;
    for (const part of key.split('.').slice(0, -1)) {
      let child = node.children.get(part);
      if (!child) node.children.set(part, (child = { own: [], children: new Map() }));
      node = child;
    }
    node.own.push(key);
  }
  const out: string[] = [];
  const emit = (node: Node): void => {
    out.push(...node.own.map((k, i) => [k, i] as const).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]).map(([k]) => k));
    const names = [...node.children.keys()];
    if (names.every((n) => /^\d+$/.test(n))) names.sort((a, b) => Number(a) - Number(b));
    for (const n of names) emit(node.children.get(n)!);
  };
  emit(root);
  return out;
}
