/** `biggan classes [query]`: the ImageNet classes (id, WordNet id, names), optionally filtered by a name or wnid. */
import { Command } from 'commander';
import { UserError } from '../../errors.js';
import { imagenetClasses, searchImagenetClasses } from '../../sample/class-lookup.js';

export function registerClasses(program: Command): void {
  program
    .command('classes')
    .description('list the ImageNet classes that --classes accepts by name (id, WordNet id, names); with a query, those whose names contain it')
    .argument('[query]', 'part of a class name, or a WordNet id (e.g. retriever, n02099601)')
    .action((query?: string) => {
      const hits = query === undefined ? imagenetClasses() : searchImagenetClasses(query);
      if (hits.length === 0) throw new UserError(`no ImageNet class name contains "${query}"`);
      process.stdout.write(hits.map((c) => `${c.index}\t${c.wnid}\t${c.names.join(', ')}\n`).join(''));
    });
}
