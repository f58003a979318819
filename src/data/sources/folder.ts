/**
 * An image folder, in one of two layouts told apart by what sits at its top:
 *
 *   root/<class name>/**\/<image>.{png,jpg,jpeg,jpe,webp}    sub-folders only: one class per
 *                                                          sub-folder (torchvision's ImageFolder)
 *   root/<image>.{png,jpg,jpeg,jpe,webp}                  images only: a class-less set (CelebA-HQ,
 *                                                          LSUN-Bedroom style), one class, label 0
 *
 * A top level holding both images and sub-folders is an error naming both layouts
 * (guessing would silently drop images or invent classes). A class-less folder's
 * one class is named after the folder and marked `classless`, so training asks for
 * an unconditional model instead of a one-class conditional one.
 * Class names are the sub-folder names sorted by code unit; label k is the k-th.
 * Hidden entries (names starting with '.') are ignored at every level, as are
 * files whose extension is not an image one. Inside a class folder, images may
 * sit in nested folders; they are ordered by relative path. The extension only
 * selects candidates: each file's content must really be PNG, JPEG or WebP
 * (decode.ts checks), otherwise it is reported as a bad image.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.js';
import { BadImageError, IMAGE_EXTENSIONS, decodeImage, type RgbImage } from '../decode.js';
import { fingerprintOf, type FileStat } from './fingerprint.js';
import { limitCount, type ImageSource, type SourceOptions } from './types.js';

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function readDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new UserError(`${dir} does not exist`);
    if (e.code === 'ENOTDIR') throw new UserError(`${dir} is not a folder`);
    if (e.code === 'EACCES') throw new UserError(`${dir} is not readable (permission denied)`);
    throw new UserError(`cannot list ${dir}: ${e.code ?? e.message}`);
  }
}

/** Directory-ness of an entry, following symlinks (a dangling link counts as a file, reported later). */
function isDir(dir: string, ent: fs.Dirent): boolean {
  if (ent.isDirectory()) return true;
  if (!ent.isSymbolicLink()) return false;
  try {
    return fs.statSync(path.join(dir, ent.name)).isDirectory();
  } catch {
    return false;
  }
}

function isImageName(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
}

interface Entry {
  file: string; // absolute
  rel: string; // relative to root, '/'-separated
  label: number;
  size: number;
  mtimeMs: number;
}

function collect(root: string, dir: string, label: number, out: Entry[]): void {
  const ents = readDir(dir).filter((e) => !e.name.startsWith('.'));
  ents.sort((a, b) => byCodeUnit(a.name, b.name));
  for (const ent of ents) {
    const full = path.join(dir, ent.name);
    if (isDir(dir, ent)) {
      collect(root, full, label, out);
    } else if (isImageName(ent.name)) {
      let size = -1;
      let mtimeMs = -1;
      try {
        const st = fs.statSync(full);
        size = st.size;
        mtimeMs = st.mtimeMs;
      } catch { /* dangling link or vanished file: load() reports it as bad */ }
      out.push({ file: full, rel: path.relative(root, full).split(path.sep).join('/'), label, size, mtimeMs });
    }
  }
}

export class FolderSource implements ImageSource {
  readonly kind = 'folder' as const;
  readonly location: string;
  readonly classNames: string[];
  readonly classless: boolean;
  readonly count: number;
  readonly fileCount: number;
  private readonly entries: Entry[];
  private readonly limit: number | undefined;

  constructor(root: string, opts: SourceOptions = {}) {
    this.location = path.resolve(root);
    const top = readDir(this.location).filter((e) => !e.name.startsWith('.'));
    const classDirs = top.filter((e) => isDir(this.location, e)).map((e) => e.name).sort(byCodeUnit);
    const loose = top.filter((e) => !isDir(this.location, e) && isImageName(e.name)).length;
    if (classDirs.length > 0 && loose > 0) {
      throw new UserError(
        `${root} holds both ${loose} images and ${classDirs.length} sub-folders; use one layout: images directly in ${root} `
          + `(a class-less set, for --unconditional) or one sub-folder per class (${root}/<class>/<image>)`,
      );
    }
    if (classDirs.length === 0 && loose === 0) {
      throw new UserError(`${root} has no PNG/JPEG/WebP images (expected ${root}/<image> for a class-less set, or ${root}/<class>/<image>)`);
    }
    const entries: Entry[] = [];
    if (classDirs.length === 0) {
      // class-less: the top level's images, sorted by name; the one class is named after the folder
      collect(this.location, this.location, 0, entries);
      this.classNames = [path.basename(this.location) || 'images'];
      this.classless = true;
    } else {
      classDirs.forEach((name, label) => {
        const before = entries.length;
        collect(this.location, path.join(this.location, name), label, entries);
        if (entries.length === before) {
          throw new UserError(`class folder ${path.join(root, name)} has no PNG/JPEG/WebP images (remove it or add images)`);
        }
      });
      this.classNames = classDirs;
      this.classless = false;
    }
    this.fileCount = entries.length;
    this.limit = opts.limit;
    this.count = limitCount(entries.length, opts.limit);
    this.entries = entries.slice(0, this.count);
  }

  label(i: number): number {
    return this.entries[i]!.label;
  }

  itemName(i: number): string {
    return this.entries[i]!.file;
  }

  fingerprint(): string {
    const files: FileStat[] = this.entries.map((e) => ({ name: `${e.label}:${e.rel}`, size: e.size, mtimeMs: e.mtimeMs }));
    return fingerprintOf(files, { kind: this.kind, classes: this.classNames.join('/'), limit: this.limit ?? 'all' });
  }

  async load(i: number): Promise<RgbImage> {
    const file = this.entries[i]!.file;
    let buf: Buffer;
    try {
      buf = await fs.promises.readFile(file);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new BadImageError(file, `cannot read file (${e.code ?? e.message})`);
    }
    return decodeImage(buf, file);
  }

  close(): void { /* nothing held open */ }
}
