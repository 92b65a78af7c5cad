//! A tiny hand-made ROME export (3 occupations, 6 items) for unit tests, small enough that
//! every feature value can be worked out by hand.
//!
//! | occupation | items (core marked *) |
//! |---|---|
//! | A1001 (domaine A10, parent A1001, transition_num O) | 10*, 11, 13 |
//! | A1002 (domaine A10, parent A1001) | 10, 12*, 14 |
//! | B2001 (domaine B20, parent B2001) | 11*, 12, 15 |
//!
//! Items: 10, 11 savoir-faire; 12 savoir; 13 certification; 14 work context; 15 savoir-être.
//! Mobilities: A1001 → A1002 (1), A1002 → B2001 (1).
//!
//! Descriptions: A1001 is an executive occupation (`emploi_cadre` O), A1002 not (N), B2001
//! unknown. Definitions: A1001 "Pose des câbles de fibre optique.", A1002 "Pose et raccorde
//! des câbles.", B2001 "Soude des pièces.". Access: A1001 "Accessible avec un Bac +2.", A1002
//! "Accessible avec un CAP ou un Bac.", B2001 none. Appellations: A1001 "Monteur fibre
//! optique", A1002 "Monteur câbleur" and "Raccordeur", B2001 "Soudeur". Sectors (sub-sector):
//! A1001 10 (101, main), 20; A1002 10 (main), 30; B2001 30 (main). Themes: A1001 1, A1002 1
//! and 2.

use std::borrow::Cow;

use crate::catalogue::{
    RomeFiles, FILE_APPELLATIONS, FILE_HIERARCHY, FILE_ITEMS, FILE_LINKS, FILE_MOBILITIES, FILE_OCCUPATIONS,
    FILE_SAVOIRS, FILE_SECTORS, FILE_TEXTS, FILE_THEMES,
};

/// The ten files of the tiny export.
pub(crate) fn tiny_files() -> RomeFiles<'static> {
    let occupations = "\"code_rome\",\"code_fiche_metier\",\"code_ogr\",\"libelle_rome\",\"transition_eco\",\"transition_num\",\"transition_demo\",\"emploi_reglemente\",\"emploi_cadre\",\"code_rome_parent\"\n\
\"A1001\",\"1\",\"1\",\"Métier A un\",\"\",\"O\",\"\",\"\",\"O\",\"A1001\"\n\
\"A1002\",\"2\",\"2\",\"Métier A deux\",\"\",\"N\",\"\",\"\",\"N\",\"A1001\"\n\
\"B2001\",\"3\",\"3\",\"Métier B\",\"\",\"\",\"\",\"\",\"\",\"B2001\"\n";
    let hierarchy = "code_rome,libelle_rome,code_grand_domaine,libelle_grand_domaine,code_domaine_professionel,libelle_domaine_professionel\n\
A1001,Métier A un,A,Dom A,A10,Dom A10\n\
A1002,Métier A deux,A,Dom A,A10,Dom A10\n\
B2001,Métier B,B,Dom B,B20,Dom B20\n";
    let items = "code_ogr,libelle,code_rubrique\n\
10,Souder,1\n\
11,Tirer un câble,1\n\
12,Électricité,3\n\
13,Habilitation électrique,3\n\
14,Travail en hauteur,\n\
15,Rigueur,2\n";
    let savoirs =
        "code_ogr_savoir,libelle_savoir,categorie_savoir,sous_categorie_savoir,transition_eco,transition_num\n\
12,Électricité,Domaines d'expertise,x,,N\n\
13,Habilitation électrique,Certifications et habilitations,x,,N\n";
    let links = "code_rome,code_ogr,coeur_metier\n\
A1001,10,Principale\nA1001,11,\nA1001,13,\n\
A1002,10,\nA1002,12,Principale\nA1002,14,\n\
B2001,11,Principale\nB2001,12,\nB2001,15,\n";
    let mobilities = "code_rome,code_rome_cible,numero_ordre\nA1001,A1002,1\nA1002,B2001,1\n";
    let appellations = "code_ogr,libelle_appellation_long,code_rome\n\
100,Monteur fibre optique,A1001\n\
101,Monteur câbleur,A1002\n\
102,Raccordeur,A1002\n\
103,Soudeur,B2001\n";
    let texts = "code_rome,code_compo_bloc,libelle_type_texte,position_phrase,libelle_texte\n\
A1001,3,definition,1,Pose des câbles de fibre optique.\n\
A1001,4,acces_metier,1,Accessible avec un Bac +2.\n\
A1002,3,definition,2,des câbles.\n\
A1002,3,definition,1,Pose et raccorde\n\
A1002,4,acces_metier,1,Accessible avec un CAP ou un Bac.\n\
B2001,3,definition,1,Soude des pièces.\n";
    let sectors = "code_sect_activite,libelle_sect_activite,code_ss_sect_activite,libelle_ss_sect_activite,code_ogr_rome,code_rome,libelle_rome,principal\n\
10,Télécoms,101,Fibre,1,A1001,Métier A un,oui\n\
20,Énergie,,,1,A1001,Métier A un,non\n\
10,Télécoms,,,2,A1002,Métier A deux,oui\n\
30,Industrie,,,2,A1002,Métier A deux,non\n\
30,Industrie,,,3,B2001,Métier B,oui\n";
    let themes = "code_theme,libelle_theme,code_ogr_rome,code_rome,libelle_rome\n\
001,Numérique,1,A1001,Métier A un\n\
001,Numérique,2,A1002,Métier A deux\n\
002,Industrie,2,A1002,Métier A deux\n";
    RomeFiles {
        files: vec![
            (FILE_OCCUPATIONS, Cow::Borrowed(occupations.as_bytes())),
            (FILE_HIERARCHY, Cow::Borrowed(hierarchy.as_bytes())),
            (FILE_ITEMS, Cow::Borrowed(items.as_bytes())),
            (FILE_SAVOIRS, Cow::Borrowed(savoirs.as_bytes())),
            (FILE_LINKS, Cow::Borrowed(links.as_bytes())),
            (FILE_MOBILITIES, Cow::Borrowed(mobilities.as_bytes())),
            (FILE_APPELLATIONS, Cow::Borrowed(appellations.as_bytes())),
            (FILE_TEXTS, Cow::Borrowed(texts.as_bytes())),
            (FILE_SECTORS, Cow::Borrowed(sectors.as_bytes())),
            (FILE_THEMES, Cow::Borrowed(themes.as_bytes())),
        ],
    }
}
