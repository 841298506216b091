//! The PDF as a contract file (issue 12 items 8 and 10), read back from what the binary
//! writes: the DanubeData matrix with every role's statement, its control references and
//! one id per item; full hashes and fingerprints; the evidence of fulfilled duties in the
//! default appendix; text of at least 8 pt; the embedded font subset; and the structure
//! tree of a tagged PDF, consistent with the marked content of the pages.

use std::collections::BTreeSet;

use lopdf::{Document, Object};
use sha2::Digest;

use crate::pdf::pdf_text;
use crate::util::Env;

const DANUBE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/schema/matrices/danubedata.toml"
);

/// Provider and customer bound to the DanubeData matrix; both perform the shared network
/// duty (the provider with an artefact, the customer with a note in German and symbols),
/// the provider patches the hypervisors; the provider signs 2026-Q3 off.
fn danube() -> Env {
    let env = Env::two_parties();
    env.ok(&[
        "matrix",
        "adopt",
        DANUBE,
        "--bind",
        "provider=cloudtemple",
        "--bind",
        "customer=acme",
        "--key",
        "provider",
    ]);
    std::fs::write(env.p("firewall-review.txt"), "rules reviewed\n").unwrap();
    let item = "vps.network-infrastructure";
    env.ok(&[
        "record",
        "--item",
        item,
        "--kind",
        "config-review",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-10",
        "--artifact",
        "firewall-review.txt",
        "--key",
        "provider",
    ]);
    env.ok(&[
        "record",
        "--item",
        item,
        "--kind",
        "config-review",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-12",
        "--note",
        "Regeln geprüft ✓ → keine Änderungen, café",
        "--key",
        "customer",
    ]);
    env.ok(&[
        "record",
        "--item",
        "vps.hypervisor-host-os",
        "--kind",
        "patch-run",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-20",
        "--field",
        "hosts=4",
        "--field",
        "patches_applied=4",
        "--field",
        "failed=0",
        "--key",
        "provider",
    ]);
    env.ok(&["attest", "--period", "2026-Q3", "--key", "provider"]);
    env
}

/// Text without any whitespace: an id or hash wrapped over lines is still found.
fn squash(s: &str) -> String {
    s.split_whitespace().collect()
}

/// The part of `text` from the first `from` to the first `to` after it.
fn between<'a>(text: &'a str, from: &str, to: &str) -> &'a str {
    let a = text.find(from).unwrap_or_else(|| panic!("no {from:?}"));
    let b = text[a..].find(to).map_or(text.len(), |b| a + b);
    &text[a..b]
}

#[test]
fn danubedata_matrix_prints_statements_refs_and_each_id_once() {
    let env = danube();
    env.ok(&["report", "--period", "2026-Q3", "--out", "d.pdf"]);
    let pdf = std::fs::read(env.p("d.pdf")).unwrap();
    let pages = pdf_text(&pdf);
    let all = pages.join("\n");
    let flat = squash(&all);
    let matrix = between(&flat, "Thematrix", "Exceptions");
    let seed: toml::Table = toml::from_str(&std::fs::read_to_string(DANUBE).unwrap()).unwrap();
    let items = seed["items"].as_array().unwrap();
    let mut ids = Vec::new();
    for it in items {
        let id = it["id"].as_str().unwrap();
        ids.push(id.to_string());
        assert!(matrix.contains(id), "item {id} not in the matrix");
        // Every role's duty statement, and every control reference.
        if let Some(st) = it.get("statements").and_then(|s| s.as_table()) {
            for (role, s) in st {
                let s = squash(s.as_str().unwrap());
                assert!(matrix.contains(&s), "{id}: the {role} statement is missing");
            }
        }
        for r in it
            .get("refs")
            .and_then(|r| r.as_array())
            .into_iter()
            .flatten()
        {
            let r = squash(r.as_str().unwrap());
            assert!(matrix.contains(&r), "{id}: reference {r} is missing");
        }
    }
    // An item with two duty holders: its id once, both duties under it.
    let shared = "vps.network-infrastructure";
    assert_eq!(matrix.matches(shared).count(), 1, "{matrix}");
    let row = between(matrix, shared, "vps.guest-operating-system");
    assert!(
        row.contains("cloudtemple(provider)") && row.contains("acme(customer)"),
        "{row}"
    );
    // Long ids break only after `.` or `-`: a line that is the start of an id ends so.
    let lines: Vec<&str> = all.lines().map(str::trim).collect();
    for id in &ids {
        for l in &lines {
            let fragment = l.contains(['.', '-']);
            if fragment && l.len() < id.len() && id.starts_with(l) {
                assert!(
                    l.ends_with('.') || l.ends_with('-'),
                    "{id} broken after {l:?}"
                );
            }
        }
    }
    // Deterministic.
    env.ok(&["report", "--period", "2026-Q3", "--out", "again.pdf"]);
    assert_eq!(pdf, std::fs::read(env.p("again.pdf")).unwrap());
}

#[test]
fn default_appendix_has_the_evidence_of_fulfilled_duties_with_full_hashes() {
    let env = danube();
    let json: serde_json::Value = serde_json::from_str(
        &env.ok(&["report", "--period", "2026-Q3", "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(json["options"]["appendix"], "all", "{json}");
    env.ok(&["report", "--period", "2026-Q3", "--out", "d.pdf"]);
    let flat = squash(&pdf_text(&std::fs::read(env.p("d.pdf")).unwrap()).join("\n"));
    let appendix = between(&flat, "Evidenceappendix", "Sign-off");
    // The network duty is fulfilled: its evidence is listed, with the signers' full key
    // fingerprints and the artefact's full SHA-256.
    let sha = hex::encode(sha2::Sha256::digest(b"rules reviewed\n"));
    assert!(
        appendix.contains(&format!("firewall-review.txt{sha}")),
        "{appendix}"
    );
    let rows = json["appendix"].as_array().unwrap();
    assert!(rows.len() >= 3, "{json}");
    for e in rows {
        let signer = e["signer"].as_str().unwrap();
        assert_eq!(signer.len(), 64);
        assert!(
            appendix.contains(signer),
            "{signer} not in full in {appendix}"
        );
        assert!(appendix.contains(&format!("#{}", e["seq"])));
    }
    assert!(!appendix.contains('…'), "{appendix}");
    // The sign-off table: the key fingerprint and the digest signed, in full.
    let signoff = between(&flat, "Sign-off", "Signatures");
    assert!(
        signoff.contains(json["digest"].as_str().unwrap()),
        "{signoff}"
    );
    // --appendix exceptions still narrows it.
    env.ok(&[
        "report",
        "--period",
        "2026-Q3",
        "--appendix",
        "exceptions",
        "--out",
        "e.pdf",
    ]);
    let flat = squash(&pdf_text(&std::fs::read(env.p("e.pdf")).unwrap()).join("\n"));
    assert!(!between(&flat, "Evidenceappendix", "Sign-off").contains(&sha));
}

/// The font sizes (`Tf`) the content streams of `doc` use.
fn font_sizes(doc: &Document) -> Vec<f32> {
    let mut out = Vec::new();
    for (_, id) in doc.get_pages() {
        let content = doc.get_and_decode_page_content(id).unwrap();
        for op in content.operations.iter().filter(|o| o.operator == "Tf") {
            out.push(op.operands[1].as_float().unwrap());
        }
    }
    out
}

#[test]
fn text_is_at_least_8_pt_and_the_font_is_a_subset_that_extracts() {
    let env = danube();
    env.ok(&["report", "--period", "2026-Q3", "--out", "d.pdf"]);
    let pdf = std::fs::read(env.p("d.pdf")).unwrap();
    let doc = Document::load_mem(&pdf).unwrap();
    let sizes = font_sizes(&doc);
    assert!(!sizes.is_empty());
    assert!(sizes.iter().all(|s| *s >= 8.0), "{sizes:?}");
    // One embedded font, subset: tagged name, a small font program.
    let mut fonts = 0;
    for o in doc.objects.values() {
        let Ok(d) = o.as_dict() else { continue };
        if d.get(b"Type").and_then(Object::as_name).ok() != Some(b"FontDescriptor".as_slice()) {
            continue;
        }
        fonts += 1;
        let name =
            String::from_utf8_lossy(d.get(b"FontName").unwrap().as_name().unwrap()).into_owned();
        let (tag, base) = name.split_once('+').unwrap();
        assert!(
            tag.len() == 6 && tag.bytes().all(|b| b.is_ascii_uppercase()),
            "{name}"
        );
        assert_eq!(base, "DejaVuSans");
        let file = d.get(b"FontFile2").unwrap().as_reference().unwrap();
        let stream = doc.get_object(file).unwrap().as_stream().unwrap();
        let len1 = stream.dict.get(b"Length1").unwrap().as_i64().unwrap();
        assert!(
            len1 < 150_000,
            "font program of {len1} bytes (the whole font is 757 KB)"
        );
    }
    assert_eq!(fonts, 1);
    assert!(pdf.len() < 250_000, "{} bytes", pdf.len());
    // The characters of the note come back out of the subset font.
    let note = squash("Regeln geprüft ✓ → keine Änderungen, café");
    let text = squash(&pdf_text(&pdf).join("\n"));
    assert!(text.contains(&note), "{text}");
    // poppler (pdffonts, pdftotext) reads the demo's PDF in CI (.ci/run): tests need no
    // tool beyond cargo.
}

/// The marked-content ids of each page's content stream, in order.
fn page_mcids(doc: &Document) -> Vec<Vec<i64>> {
    doc.get_pages()
        .values()
        .map(|id| {
            let content = doc.get_and_decode_page_content(*id).unwrap();
            content
                .operations
                .iter()
                .filter(|o| o.operator == "BDC")
                .filter_map(|o| {
                    o.operands
                        .get(1)?
                        .as_dict()
                        .ok()?
                        .get(b"MCID")
                        .ok()?
                        .as_i64()
                        .ok()
                })
                .collect()
        })
        .collect()
}

#[test]
fn the_pdf_is_tagged_and_its_structure_tree_matches_the_pages() {
    let env = Env::new();
    env.ok(&["demo"]);
    let path = env.p("reports/demo-attestation.pdf");
    let doc = Document::load(&path).unwrap();
    let catalog = doc.catalog().unwrap();
    let marked = catalog.get(b"MarkInfo").unwrap().as_dict().unwrap();
    assert!(marked.get(b"Marked").unwrap().as_bool().unwrap());
    assert_eq!(catalog.get(b"Lang").unwrap().as_str().unwrap(), b"en");
    let prefs = catalog
        .get(b"ViewerPreferences")
        .unwrap()
        .as_dict()
        .unwrap();
    assert!(prefs.get(b"DisplayDocTitle").unwrap().as_bool().unwrap());
    let root = doc
        .get_dictionary(
            catalog
                .get(b"StructTreeRoot")
                .unwrap()
                .as_reference()
                .unwrap(),
        )
        .unwrap();
    // Walk the tree: roles in reading order, and each (page, MCID) it refers to.
    let pages: Vec<lopdf::ObjectId> = doc.get_pages().values().copied().collect();
    let mut roles = Vec::new();
    let mut refs: BTreeSet<(usize, i64)> = BTreeSet::new();
    let mut todo = vec![root.get(b"K").unwrap().as_reference().unwrap()];
    while let Some(id) = todo.pop() {
        let e = doc.get_dictionary(id).unwrap();
        roles.push(String::from_utf8_lossy(e.get(b"S").unwrap().as_name().unwrap()).into_owned());
        let pg = e.get(b"Pg").and_then(Object::as_reference).ok();
        for k in e.get(b"K").unwrap().as_array().unwrap().iter().rev() {
            match k {
                Object::Reference(r) => todo.push(*r),
                Object::Integer(m) => {
                    let p = pages.iter().position(|x| Some(*x) == pg).unwrap();
                    assert!(refs.insert((p, *m)), "MCID {m} on page {p} twice");
                }
                Object::Dictionary(d) => {
                    let pg = d.get(b"Pg").unwrap().as_reference().unwrap();
                    let p = pages.iter().position(|x| *x == pg).unwrap();
                    let m = d.get(b"MCID").unwrap().as_i64().unwrap();
                    assert!(refs.insert((p, m)), "MCID {m} on page {p} twice");
                }
                other => panic!("unexpected kid {other:?}"),
            }
        }
    }
    assert_eq!(roles[0], "Document");
    for role in ["H1", "H2", "P", "Table", "TR", "TH", "TD"] {
        assert!(roles.iter().any(|r| r == role), "no {role} element");
    }
    // Every marked-content id of every page is in the tree, and nothing else is.
    let mut content: BTreeSet<(usize, i64)> = BTreeSet::new();
    for (p, ids) in page_mcids(&doc).iter().enumerate() {
        assert!(!ids.is_empty(), "page {} has no tagged content", p + 1);
        for m in ids {
            assert!(content.insert((p, *m)), "MCID {m} on page {p} twice");
        }
    }
    assert_eq!(refs, content);
    // Each page points into the parent tree and tabs in structure order.
    let tree = doc
        .get_dictionary(root.get(b"ParentTree").unwrap().as_reference().unwrap())
        .unwrap();
    let nums = tree.get(b"Nums").unwrap().as_array().unwrap();
    for (i, id) in pages.iter().enumerate() {
        let page = doc.get_dictionary(*id).unwrap();
        assert_eq!(
            page.get(b"StructParents").unwrap().as_i64().unwrap(),
            i as i64
        );
        assert_eq!(page.get(b"Tabs").unwrap().as_name().unwrap(), b"S");
        let at = nums
            .iter()
            .position(|o| o.as_i64().ok() == Some(i as i64))
            .unwrap();
        let parents = nums[at + 1].as_array().unwrap();
        let n = content.iter().filter(|(p, _)| *p == i).count();
        assert_eq!(parents.len(), n, "page {i}");
    }
    // pdfinfo ("Tagged: yes") and qpdf --check read the demo's PDF in CI (.ci/run).
}
