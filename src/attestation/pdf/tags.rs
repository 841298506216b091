//! The logical structure of the report, for a tagged PDF (ISO 32000-1 §14.8, PDF/UA): screen
//! readers and text extraction follow it instead of guessing from positions.
//!
//! While the layout draws, [`Tags`] records the structure elements in reading order
//! (`Document` → `H1`/`H2`/`H3`, `P`, `Table` → `TR` → `TH`/`TD`) and gives every run of text
//! a marked-content id on its page; the layout wraps the run in `BDC … EMC` with that id.
//! Rules, cell fills, status swatches, the running header and footer, a table's repeated
//! header row and the "UNVERIFIED" stamp are marked as artifacts. [`write`] then adds the
//! structure tree, its parent tree, `/MarkInfo`, `/Lang`, the pages' `/StructParents` and
//! `/Tabs`, and asks viewers to show the document title.

use lopdf::{Dictionary, Document, Object, ObjectId};

use crate::error::{Error, Result};

/// A child of a structure element: another element, or marked content on a page.
enum Kid {
    Elem(usize),
    Mc { page: usize, mcid: i64 },
}

struct Elem {
    role: &'static str,
    parent: usize,
    kids: Vec<Kid>,
}

/// The structure elements in reading order; element 0 is the `Document`.
pub(super) struct Tags {
    elems: Vec<Elem>,
    stack: Vec<usize>,
    /// The next marked-content id of each page.
    next: Vec<i64>,
}

impl Tags {
    pub(super) fn new() -> Self {
        Self {
            elems: vec![Elem {
                role: "Document",
                parent: 0,
                kids: Vec::new(),
            }],
            stack: vec![0],
            next: Vec::new(),
        }
    }

    /// Open a `role` element in the current one; what is drawn next goes into it.
    pub(super) fn open(&mut self, role: &'static str) -> usize {
        let parent = self.stack.last().copied().unwrap_or(0);
        let id = self.elems.len();
        self.elems.push(Elem {
            role,
            parent,
            kids: Vec::new(),
        });
        self.elems[parent].kids.push(Kid::Elem(id));
        self.stack.push(id);
        id
    }

    /// Go on filling element `id` (a table cell drawn in parts over a page break).
    pub(super) fn enter(&mut self, id: usize) {
        self.stack.push(id);
    }

    /// Close the current element.
    pub(super) fn close(&mut self) {
        if self.stack.len() > 1 {
            self.stack.pop();
        }
    }

    /// The tag and marked-content id for a run of text on `page`, in the current element (a
    /// paragraph of its own when no element is open).
    pub(super) fn mark(&mut self, page: usize) -> (&'static str, i64) {
        let own = self.stack.len() == 1;
        if own {
            self.open("P");
        }
        let at = self.stack.last().copied().unwrap_or(0);
        if self.next.len() <= page {
            self.next.resize(page + 1, 0);
        }
        let mcid = self.next[page];
        self.next[page] += 1;
        self.elems[at].kids.push(Kid::Mc { page, mcid });
        let role = self.elems[at].role;
        if own {
            self.close();
        }
        (role, mcid)
    }
}

/// The heading tag for a heading of `size` points.
pub(super) fn heading_role(size: f32) -> &'static str {
    if size >= 14.0 {
        "H1"
    } else if size >= 11.0 {
        "H2"
    } else {
        "H3"
    }
}

/// Add the structure tree of `tags` to `doc` (whose pages are the layout's pages, in order).
///
/// # Errors
///
/// When the document has no catalog (never with printpdf's output).
pub(super) fn write(doc: &mut Document, tags: &Tags) -> Result<()> {
    let pages: Vec<ObjectId> = doc.get_pages().values().copied().collect();
    let root_id = doc.new_object_id();
    let ids: Vec<ObjectId> = tags.elems.iter().map(|_| doc.new_object_id()).collect();
    let mut parent_tree: Vec<Vec<Object>> = vec![Vec::new(); pages.len()];
    for (i, e) in tags.elems.iter().enumerate() {
        let mut kids = Vec::new();
        // Marked content on the element's own page is referred to by its id alone.
        let own_page = e.kids.iter().find_map(|k| match k {
            Kid::Mc { page, .. } => Some(*page),
            Kid::Elem(_) => None,
        });
        for k in &e.kids {
            match k {
                Kid::Elem(j) => kids.push(Object::Reference(ids[*j])),
                Kid::Mc { page, mcid } => {
                    let Some(pg) = pages.get(*page) else { continue };
                    let slot = &mut parent_tree[*page];
                    let at = usize::try_from(*mcid).unwrap_or(0);
                    if slot.len() <= at {
                        slot.resize(at + 1, Object::Null);
                    }
                    slot[at] = Object::Reference(ids[i]);
                    if own_page == Some(*page) {
                        kids.push(Object::Integer(*mcid));
                        continue;
                    }
                    kids.push(Object::Dictionary(Dictionary::from_iter(vec![
                        ("Type", Object::Name(b"MCR".to_vec())),
                        ("Pg", Object::Reference(*pg)),
                        ("MCID", Object::Integer(*mcid)),
                    ])));
                }
            }
        }
        let parent = if i == 0 { root_id } else { ids[e.parent] };
        let mut d = Dictionary::from_iter(vec![
            ("Type", Object::Name(b"StructElem".to_vec())),
            ("S", Object::Name(e.role.as_bytes().to_vec())),
            ("P", Object::Reference(parent)),
            ("K", Object::Array(kids)),
        ]);
        if let Some(pg) = own_page.and_then(|p| pages.get(p)) {
            d.set("Pg", Object::Reference(*pg));
        }
        if e.role == "TH" {
            d.set(
                "A",
                Dictionary::from_iter(vec![
                    ("O", Object::Name(b"Table".to_vec())),
                    ("Scope", Object::Name(b"Column".to_vec())),
                ]),
            );
        }
        doc.objects.insert(ids[i], Object::Dictionary(d));
    }
    let mut nums = Vec::new();
    for (i, refs) in parent_tree.into_iter().enumerate() {
        nums.push(Object::Integer(i as i64));
        nums.push(Object::Array(refs));
    }
    let tree = doc.add_object(Dictionary::from_iter(vec![("Nums", Object::Array(nums))]));
    doc.objects.insert(
        root_id,
        Object::Dictionary(Dictionary::from_iter(vec![
            ("Type", Object::Name(b"StructTreeRoot".to_vec())),
            ("K", Object::Reference(ids[0])),
            ("ParentTree", Object::Reference(tree)),
            ("ParentTreeNextKey", Object::Integer(pages.len() as i64)),
        ])),
    );
    for (i, pg) in pages.iter().enumerate() {
        if let Ok(d) = doc.get_object_mut(*pg).and_then(Object::as_dict_mut) {
            d.set("StructParents", Object::Integer(i as i64));
            d.set("Tabs", Object::Name(b"S".to_vec()));
        }
    }
    let catalog = doc
        .catalog_mut()
        .map_err(|e| Error::new(format!("cannot tag the PDF: {e}")))?;
    catalog.set("StructTreeRoot", Object::Reference(root_id));
    catalog.set(
        "MarkInfo",
        Dictionary::from_iter(vec![("Marked", Object::Boolean(true))]),
    );
    catalog.set("Lang", Object::string_literal("en"));
    catalog.set(
        "ViewerPreferences",
        Dictionary::from_iter(vec![("DisplayDocTitle", Object::Boolean(true))]),
    );
    doc.version = "1.7".to_string();
    Ok(())
}
