//! Name and street lists for the synthetic register.
//!
//! Common first names and surnames as they occur in Germany, plus invented
//! street names per district. No combination refers to a real person; the
//! surname „Mustermann“ is deliberately absent so that the two fixed
//! specimen persons stay unique.

/// Name pools of one origin group.
pub(crate) struct NamePool {
    pub(crate) female: &'static [&'static str],
    pub(crate) male: &'static [&'static str],
    pub(crate) surnames: &'static [&'static str],
}

/// German given names by birth cohort: before 1960, 1960–1989, from 1990.
#[rustfmt::skip]
pub(crate) const GERMAN_FEMALE: [&[&str]; 3] = [
    &[
        "Ursula", "Helga", "Gisela", "Renate", "Ingrid", "Christa", "Monika", "Karin", "Brigitte",
        "Elke", "Erika", "Hannelore", "Gertrud", "Marianne", "Waltraud", "Irmgard",
    ],
    &[
        "Sabine", "Andrea", "Petra", "Claudia", "Stefanie", "Nicole", "Katrin", "Susanne", "Sandra",
        "Melanie", "Birgit", "Anja", "Tanja", "Christina", "Daniela", "Julia",
    ],
    &[
        "Lena", "Hannah", "Mia", "Emma", "Sophie", "Laura", "Lea", "Anna", "Marie", "Emilia",
        "Lina", "Clara", "Johanna", "Paula", "Leonie", "Charlotte",
    ],
];
#[rustfmt::skip]
pub(crate) const GERMAN_MALE: [&[&str]; 3] = [
    &[
        "Hans", "Klaus", "Günter", "Werner", "Manfred", "Dieter", "Horst", "Jürgen", "Peter",
        "Wolfgang", "Heinz", "Gerhard", "Helmut", "Karl", "Walter", "Rolf",
    ],
    &[
        "Thomas", "Michael", "Andreas", "Stefan", "Frank", "Markus", "Christian", "Daniel",
        "Sebastian", "Tobias", "Matthias", "Jens", "Oliver", "Alexander", "Dirk", "Sven",
    ],
    &[
        "Lukas", "Leon", "Paul", "Finn", "Jonas", "Felix", "Elias", "Noah", "Ben", "Maximilian",
        "Luca", "Emil", "Henry", "Moritz", "Jakob", "Max",
    ],
];
#[rustfmt::skip]
pub(crate) const GERMAN_SURNAMES: &[&str] = &[
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
    "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner",
    "Schmitz", "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier", "Köhler", "Herrmann",
    "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller",
    "Weiß", "Jung", "Hahn", "Schubert", "Vogel", "Friedrich", "Keller", "Günther", "Frank",
    "Berger", "Winkler", "Roth", "Beck", "Lorenz", "Baumann", "Franke", "Albrecht", "Schuster",
    "Simon", "Ludwig", "Böhm", "Winter", "Kraus", "Martin", "Schumacher", "Krämer", "Vogt", "Stein",
    "Jäger", "Otto", "Sommer", "Groß", "Seidel", "Heinrich", "Brandt", "Haas", "Schreiber", "Graf",
    "Schulte", "Dietrich", "Ziegler", "Kuhn", "Kühn", "Pohl", "Engel", "Horn", "Busch", "Bergmann",
    "Thomas", "Voigt", "Sauer", "Arnold", "Wolff", "Pfeiffer",
];

#[rustfmt::skip]
pub(crate) const TURKISH: NamePool = NamePool {
    female: &[
        "Ayşe", "Fatma", "Elif", "Zeynep", "Emine", "Hatice", "Merve", "Büşra", "Esra", "Derya",
    ],
    male: &[
        "Mehmet", "Mustafa", "Ahmet", "Ali", "Hüseyin", "Hasan", "İbrahim", "Emre", "Murat",
        "Yusuf",
    ],
    surnames: &[
        "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Aydın", "Öztürk", "Arslan",
        "Doğan", "Kılıç", "Aslan",
    ],
};
#[rustfmt::skip]
pub(crate) const POLISH: NamePool = NamePool {
    female: &[
        "Anna", "Katarzyna", "Małgorzata", "Agnieszka", "Barbara", "Ewa", "Magdalena", "Joanna",
        "Monika", "Zofia",
    ],
    male: &[
        "Piotr", "Krzysztof", "Andrzej", "Tomasz", "Paweł", "Marcin", "Michał", "Jakub", "Łukasz",
        "Kamil",
    ],
    surnames: &[
        "Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski",
        "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski",
    ],
};
#[rustfmt::skip]
pub(crate) const ITALIAN: NamePool = NamePool {
    female: &[
        "Giulia", "Francesca", "Chiara", "Sara", "Martina", "Valentina", "Alessia", "Elena",
        "Federica", "Silvia",
    ],
    male: &[
        "Marco", "Giuseppe", "Luca", "Alessandro", "Andrea", "Francesco", "Matteo", "Lorenzo",
        "Davide", "Giovanni",
    ],
    surnames: &[
        "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino",
        "Greco", "Bruno", "Gallo",
    ],
};
#[rustfmt::skip]
pub(crate) const UKRAINIAN: NamePool = NamePool {
    female: &[
        "Olena", "Oksana", "Iryna", "Natalija", "Tetjana", "Switlana", "Julija", "Anastasija",
        "Marija", "Kateryna",
    ],
    male: &[
        "Oleksandr", "Andrij", "Serhij", "Dmytro", "Wolodymyr", "Mykola", "Jurij", "Maksym", "Iwan",
        "Bohdan",
    ],
    surnames: &[
        "Melnyk", "Schewtschenko", "Bondarenko", "Kowalenko", "Tkatschenko", "Krawtschenko",
        "Oliinyk", "Schewtschuk", "Polischtschuk", "Lysenko",
    ],
};
#[rustfmt::skip]
pub(crate) const SYRIAN: NamePool = NamePool {
    female: &[
        "Fatima", "Amina", "Rania", "Lina", "Nour", "Yasmin", "Hiba", "Layla", "Rasha", "Dima",
    ],
    male: &[
        "Mohammad", "Ahmad", "Omar", "Khaled", "Mahmoud", "Hussein", "Ali", "Yousef", "Rami",
        "Samer",
    ],
    surnames: &[
        "Al-Ahmad", "Hassan", "Ibrahim", "Khalil", "Haddad", "Mansour", "Saleh", "Darwish",
        "Al-Hamwi", "Nasser",
    ],
};
#[rustfmt::skip]
pub(crate) const ROMANIAN: NamePool = NamePool {
    female: &[
        "Maria", "Elena", "Ioana", "Andreea", "Mihaela", "Cristina", "Alexandra", "Gabriela", "Ana",
        "Daniela",
    ],
    male: &[
        "Ion", "Andrei", "Alexandru", "Mihai", "Gheorghe", "Constantin", "Florin", "Ionuț",
        "Adrian", "Vasile",
    ],
    surnames: &[
        "Popescu", "Ionescu", "Popa", "Pop", "Radu", "Dumitru", "Stoica", "Stan", "Munteanu",
        "Constantinescu",
    ],
};
#[rustfmt::skip]
pub(crate) const CROATIAN: NamePool = NamePool {
    female: &[
        "Ana", "Marija", "Ivana", "Petra", "Maja", "Katarina", "Lucija", "Martina",
    ],
    male: &[
        "Ivan", "Marko", "Josip", "Luka", "Ante", "Tomislav", "Stjepan", "Mario",
    ],
    surnames: &[
        "Horvat", "Kovačević", "Babić", "Marić", "Jurić", "Novak", "Knežević", "Vuković",
        "Petrović", "Matić",
    ],
};
#[rustfmt::skip]
pub(crate) const GREEK: NamePool = NamePool {
    female: &[
        "Maria", "Eleni", "Aikaterini", "Vasiliki", "Sofia", "Georgia", "Dimitra", "Anastasia",
    ],
    male: &[
        "Georgios", "Konstantinos", "Ioannis", "Dimitrios", "Nikolaos", "Panagiotis", "Christos",
        "Vasileios",
    ],
    surnames: &[
        "Papadopoulos", "Georgiou", "Nikolaidis", "Dimitriou", "Konstantinidis", "Papadakis",
        "Vasileiou", "Oikonomou",
    ],
};

/// Nationality (as written in the register), its name pool and weight per mille.
pub(crate) const NATIONALITIES: &[((&str, Option<&NamePool>), u32)] = &[
    (("deutsch", None), 872),
    (("türkisch", Some(&TURKISH)), 30),
    (("polnisch", Some(&POLISH)), 20),
    (("ukrainisch", Some(&UKRAINIAN)), 18),
    (("syrisch", Some(&SYRIAN)), 16),
    (("rumänisch", Some(&ROMANIAN)), 15),
    (("italienisch", Some(&ITALIAN)), 13),
    (("kroatisch", Some(&CROATIAN)), 9),
    (("griechisch", Some(&GREEK)), 7),
];

/// Name pools for Germans with a family history of migration.
pub(crate) const MIGRATION_BACKGROUND: &[(&NamePool, u32)] = &[
    (&TURKISH, 40),
    (&POLISH, 25),
    (&ITALIAN, 12),
    (&CROATIAN, 8),
    (&GREEK, 8),
    (&ROMANIAN, 7),
];

/// Invented street names per district (same order as [`super::DISTRICTS`]).
#[rustfmt::skip]
pub(crate) const STREETS: [&[&str]; 6] = [
    &[
        "Lindenallee", "Marktgasse", "Kirchstraße", "Am Stadtgraben", "Brunnengasse",
        "Klostergasse", "Rosenstraße", "Zollgasse", "Am Markt", "Gerberstraße",
    ],
    &[
        "Schillerstraße", "Ahornweg", "Nordring", "Birkenweg", "Am Wasserturm", "Lerchenfeld",
        "Eichendorffstraße", "Heideweg", "Kastanienallee", "Fliederweg",
    ],
    &[
        "Bahnhofstraße", "Lindenhof", "Schulstraße", "Gartenstraße", "Südring", "Mühlenweg",
        "Hafenstraße", "Weberstraße", "Uhlandstraße", "Tulpenweg",
    ],
    &[
        "Westring", "Am Sportpark", "Buchenweg", "Goethestraße", "Feldstraße", "Sonnenhang",
        "Wiesengrund", "Eschenweg", "Hohe Straße", "Kornblumenweg",
    ],
    &[
        "Kaiserstraße", "Ostring", "Am Bahndamm", "Kiefernweg", "Lessingstraße", "Dahlienweg",
        "Bergstraße", "Am Kanal", "Hirtenweg", "Fasanenweg",
    ],
    &[
        "Parkstraße", "Seeuferweg", "Am Yachthafen", "Schilfweg", "Uferstraße", "Fischerweg",
        "Seeblick", "Dünenweg", "Möwenweg", "Am Strandbad",
    ],
];

#[cfg(test)]
mod tests {
    use super::*;

    fn all_pools() -> Vec<&'static NamePool> {
        vec![
            &TURKISH, &POLISH, &ITALIAN, &UKRAINIAN, &SYRIAN, &ROMANIAN, &CROATIAN, &GREEK,
        ]
    }

    #[test]
    fn no_pool_contains_mustermann_or_separators() {
        let mut names: Vec<&str> = GERMAN_SURNAMES.to_vec();
        for cohort in GERMAN_FEMALE.iter().chain(GERMAN_MALE.iter()) {
            names.extend_from_slice(cohort);
        }
        for pool in all_pools() {
            names.extend_from_slice(pool.female);
            names.extend_from_slice(pool.male);
            names.extend_from_slice(pool.surnames);
        }
        for streets in STREETS {
            names.extend_from_slice(streets);
        }
        for name in names {
            assert!(!name.contains("Mustermann"), "{name}");
            assert!(!name.contains([';', '"', '\n']), "{name}");
            assert!(!name.trim().is_empty());
        }
    }

    #[test]
    fn weights_are_per_mille() {
        let total: u32 = NATIONALITIES.iter().map(|(_, w)| w).sum();
        assert_eq!(total, 1000);
    }
}
