/**
 * Which foreign layout a config JSON belongs to: BigGAN-PyTorch constructor args
 * ({"G": …, "D": …} or flat G_ch / D_ch) or a pytorch-pretrained-BigGAN config.json.
 * BigGAN-PyTorch's keys win when a file has both.
 */
export type ConfigKind = 'bgp' | 'hf' | 'unknown';

export function configKind(json: unknown): ConfigKind {
  if (json && typeof json === 'object') {
    if ('G' in json || 'D' in json || 'G_ch' in json || 'D_ch' in json) return 'bgp';
    if ('layers' in json && 'channel_width' in json) return 'hf';
  }
  return 'unknown';
}
