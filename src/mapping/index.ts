export * from './compile';
export * from './load';
export { DATE_FORMATS, type DateFormat } from './parsers';
export {
  type Condition,
  DEBTOR_TARGETS,
  FIELD_TYPES,
  type FieldSpec,
  type FieldType,
  ITEM_TARGETS,
  type MappingDefinition,
  mappingSchema,
} from './schema';
