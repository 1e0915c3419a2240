//! Generates the client from the gateway's OpenAPI 3.0 edition (progenitor reads only 3.0).

fn main() {
    let spec = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../openapi/3.0/gateway.json"
    );
    println!("cargo:rerun-if-changed={spec}");
    let text = std::fs::read_to_string(spec).expect("openapi/3.0/gateway.json");
    let spec = serde_json::from_str(&text).expect("the spec is JSON");
    let mut generator = progenitor::Generator::default();
    let tokens = generator
        .generate_tokens(&spec)
        .unwrap_or_else(|e| panic!("progenitor cannot generate the client: {e}"));
    let file: syn::File = syn::parse2(tokens).expect("generated code parses");
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("gateway.rs");
    std::fs::write(out, prettyplease::unparse(&file)).unwrap();
}
