//! Stage 5: merging components of one colour that belong together (an instance split by an
//! occluder, or by colour drift past tau from its seed).

use super::fill::Component;

/// Merges `components` (in seed order) to a fixed point: in each pass, every group absorbs each
/// later group it is mergeable with, its statistics updated after each absorption. Returns, per
/// component, the index of its group, and the groups in order of their first component.
pub fn merge(components: &[Component], tau: f64, bbox_ratio: f64) -> (Vec<usize>, Vec<Component>) {
    let n = components.len();
    let mut groups: Vec<Option<Component>> = components.iter().cloned().map(Some).collect();
    let mut owner: Vec<usize> = (0..n).collect();
    loop {
        let mut merged = false;
        for i in 0..n {
            for j in i + 1..n {
                let (Some(gi), Some(gj)) = (&groups[i], &groups[j]) else {
                    continue;
                };
                if gi.mergeable(gj, tau, bbox_ratio) {
                    let gj = groups[j].take().expect("checked above");
                    groups[i].as_mut().expect("checked above").absorb(&gj);
                    owner.iter_mut().filter(|o| **o == j).for_each(|o| *o = i);
                    merged = true;
                }
            }
        }
        if !merged {
            break;
        }
    }
    let mut rank = vec![usize::MAX; n];
    let mut alive = Vec::new();
    for (i, g) in groups.into_iter().enumerate() {
        if let Some(g) = g {
            rank[i] = alive.len();
            alive.push(g);
        }
    }
    (owner.iter().map(|&o| rank[o]).collect(), alive)
}
