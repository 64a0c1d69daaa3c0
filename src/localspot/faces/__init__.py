"""HTTP faces: one module per API family; they parse, call the domain and render."""
