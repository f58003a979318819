/**
 * Short names of weight matrices for legends (`biggan plot`, the dashboard). Platform-neutral:
 * the dashboard page imports it too.
 */

/** A weight path shortened for a legend: blocks.0.conv1.w.weight -> blocks.0.conv1. */
export function layerLabel(path: string): string {
  return path.replace(/\.w\.weight$/, '').replace(/\.weight$/, '');
}
