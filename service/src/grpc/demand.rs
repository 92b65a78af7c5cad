//! Conversions of the text-search and labour-market-tension domain types (job-title
//! resolution, occupation matches, tension figures) to their proto messages, shared by
//! `PathwayService` and `SearchService`. Domain values are destructured without `..`.

use passerelle_model::engine::TensionContext;
use passerelle_model::search::{JobTitleMatch, MatchedText, OccupationHit};
use passerelle_model::tension::{Area, AreaLevel, Components, TensionFact};

use crate::proto::v1 as pb;

/// An occupation match.
pub fn occupation_match(hit: OccupationHit) -> pb::OccupationMatch {
    let OccupationHit { code, label, matched, matched_kind, appellation_code, score } = hit;
    pb::OccupationMatch {
        code,
        label,
        matched_text: matched,
        matched_kind: match matched_kind {
            MatchedText::Appellation => pb::MatchedTextKind::Appellation,
            MatchedText::OccupationLabel => pb::MatchedTextKind::OccupationLabel,
        }
        .into(),
        appellation_code: appellation_code.map(|c| c.to_string()).unwrap_or_default(),
        score,
    }
}

/// How a job title was resolved.
pub fn job_title(m: JobTitleMatch) -> pb::JobTitleResolution {
    let ambiguous = m.ambiguous();
    let JobTitleMatch { text, used, alternatives } = m;
    pb::JobTitleResolution {
        job_title: text,
        used: Some(occupation_match(used)),
        alternatives: alternatives.into_iter().map(occupation_match).collect(),
        ambiguous,
    }
}

/// The tension figures of one result.
pub fn tension(fact: TensionFact) -> pb::LabourMarketTension {
    let TensionFact { fap, level, area_code, fallback, category, indicator, employment, components, year } = fact;
    pb::LabourMarketTension {
        fap_code: fap,
        level: area_level(level).into(),
        area_code,
        fallback,
        category: u32::from(category),
        indicator,
        employment,
        components: components.map(|c| {
            let Components {
                hiring_intensity,
                training_job_link,
                labour_shortage,
                non_durability,
                working_conditions,
                geographic_mismatch,
            } = c;
            pb::TensionComponents {
                hiring_intensity: hiring_intensity.into(),
                training_job_link: training_job_link.into(),
                labour_shortage: labour_shortage.into(),
                non_durability: non_durability.into(),
                working_conditions: working_conditions.into(),
                geographic_mismatch: geographic_mismatch.into(),
            }
        }),
        data_year: u32::from(year),
    }
}

fn area_level(level: AreaLevel) -> pb::AreaLevel {
    match level {
        AreaLevel::National => pb::AreaLevel::National,
        AreaLevel::Region => pb::AreaLevel::Region,
        AreaLevel::Department => pb::AreaLevel::Department,
    }
}

/// How tension was used in an answer.
pub fn tension_context(c: TensionContext) -> pb::TensionContext {
    let TensionContext { area: Area { region, department }, weight, year, basis } = c;
    pb::TensionContext {
        region: region.unwrap_or_default(),
        department: department.unwrap_or_default(),
        weight,
        data_year: u32::from(year),
        basis,
    }
}
