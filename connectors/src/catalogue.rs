//! Open-data catalogues: DCAT-AP.de (Turtle, RDF/XML, JSON-LD, Hydra paging) and the CKAN Action API.
