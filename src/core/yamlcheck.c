/* DpsYAMLCheckFile (include/dpsolve/dpsolve.h): a job or config file is checked with libyaml before PETSc reads it.
   PETSc's reader says only "YAML parser loading error", without the file or the line, and takes a key given twice
   silently (the last wins); a job file with a repeated key is almost always a mistake that changes a result. */
#include <stdio.h>
#include <string.h>
#include <yaml.h>
#include <dpsolve/dpsolve.h>

/* the first key that a mapping of the document holds twice; *line is 1-based */
static const yaml_node_t *DpsYAMLDuplicateKey(yaml_document_t *doc, yaml_node_t *node, int depth)
{
  if (!node || depth > 64) return NULL;
  if (node->type == YAML_SEQUENCE_NODE) {
    for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top; it++) {
      const yaml_node_t *dup = DpsYAMLDuplicateKey(doc, yaml_document_get_node(doc, *it), depth + 1);
      if (dup) return dup;
    }
  } else if (node->type == YAML_MAPPING_NODE) {
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
      yaml_node_t *k = yaml_document_get_node(doc, p->key);
      for (yaml_node_pair_t *q = node->data.mapping.pairs.start; q < p; q++) {
        yaml_node_t *k2 = yaml_document_get_node(doc, q->key);
        if (k && k2 && k->type == YAML_SCALAR_NODE && k2->type == YAML_SCALAR_NODE && k->data.scalar.length == k2->data.scalar.length && !memcmp(k->data.scalar.value, k2->data.scalar.value, k->data.scalar.length)) return k;
      }
      {
        const yaml_node_t *dup = DpsYAMLDuplicateKey(doc, yaml_document_get_node(doc, p->value), depth + 1);
        if (dup) return dup;
      }
    }
  }
  return NULL;
}

int DpsYAMLCheckFile(const char path[], char msg[], size_t len)
{
  FILE           *f = fopen(path, "rb");
  yaml_parser_t   parser;
  yaml_document_t doc;
  int             bad = 0;

  msg[0] = '\0';
  if (!f) {
    snprintf(msg, len, "%s: cannot read the options file", path);
    return 1;
  }
  yaml_parser_initialize(&parser);
  yaml_parser_set_input_file(&parser, f);
  for (;;) {
    yaml_node_t *root;
    if (!yaml_parser_load(&parser, &doc)) {
      snprintf(msg, len, "%s: line %lu, column %lu: not valid YAML: %s%s%s", path, (unsigned long)parser.problem_mark.line + 1, (unsigned long)parser.problem_mark.column + 1, parser.problem ? parser.problem : "parse error", parser.context ? " " : "", parser.context ? parser.context : "");
      bad = 1;
      break;
    }
    root = yaml_document_get_root_node(&doc);
    if (!root) { /* the end of the stream */
      yaml_document_delete(&doc);
      break;
    }
    {
      const yaml_node_t *dup = DpsYAMLDuplicateKey(&doc, root, 0);
      if (dup) {
        snprintf(msg, len, "%s: line %lu: key '%.*s' is given twice (which one was meant?)", path, (unsigned long)dup->start_mark.line + 1, (int)dup->data.scalar.length, (const char *)dup->data.scalar.value);
        bad = 1;
      }
    }
    yaml_document_delete(&doc);
    if (bad) break;
  }
  yaml_parser_delete(&parser);
  fclose(f);
  return bad;
}
