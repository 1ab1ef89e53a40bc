//! Wahlen (Wahlamt) sowie Aufenthalt und Einbürgerung (Ausländerbehörde).

use super::Spec;

const ELECTIONS: &str = "Wahlen";
const MIGRATION: &str = "Migration und Einbürgerung";
const WAHLAMT: &str = "wahlamt";
const ABH: &str = "auslaenderbehoerde";

pub(super) const SERVICES: &[Spec] = &[
    Spec {
        slug: "briefwahl",
        title: "Briefwahl beantragen",
        teaser: "Wenn Sie am Wahltag nicht ins Wahllokal gehen können oder wollen, wählen Sie per Brief. Die Unterlagen beantragen Sie online, per Post oder persönlich beim Wahlamt.",
        category: ELECTIONS,
        office: WAHLAMT,
        keywords: &[
            "Briefwahl",
            "Wahlschein",
            "Briefwahlunterlagen",
            "wählen",
            "Wahl",
            "Wahlbenachrichtigung",
            "Kommunalwahl",
            "Bundestagswahl",
        ],
        fees: "gebührenfrei; der Wahlbrief wird innerhalb Deutschlands ohne Porto befördert",
        documents: &[
            "Wahlbenachrichtigung oder Angaben zu Name, Geburtsdatum und Anschrift",
            "bei Abholung für eine andere Person: schriftliche Vollmacht",
        ],
        intro: "Mit der Briefwahl geben Sie Ihre Stimme ab, ohne am Wahltag ins Wahllokal zu gehen. Einen Grund müssen Sie nicht angeben. Sie erhalten einen Wahlschein, den Stimmzettel, einen Stimmzettelumschlag und einen Wahlbriefumschlag.",
        requirements: "Sie sind wahlberechtigt und im Wählerverzeichnis von Musterstadt eingetragen.",
        deadlines: "Der Antrag muss in der Regel bis zum <strong>Freitag vor der Wahl, 18&nbsp;Uhr</strong>, beim Wahlamt eingehen. Der Wahlbrief muss spätestens am Wahltag um 18&nbsp;Uhr vorliegen; schicken Sie ihn deshalb spätestens drei Werktage vor der Wahl ab.",
        process: "Beantragen Sie die Unterlagen mit dem QR-Code auf der Wahlbenachrichtigung online, per Post oder persönlich. Im Wahlamt können Sie auch gleich vor Ort wählen. Füllen Sie den Stimmzettel unbeobachtet aus und unterschreiben Sie die Versicherung an Eides statt auf dem Wahlschein, sonst ist Ihre Stimme ungültig.",
    },
    Spec {
        slug: "wahlhelfer",
        title: "Wahlhelferin oder Wahlhelfer werden",
        teaser: "Für jede Wahl braucht Musterstadt rund 1.200 Wahlhelferinnen und Wahlhelfer. Sie sorgen für einen ordnungsgemäßen Ablauf und zählen am Abend die Stimmen aus.",
        category: ELECTIONS,
        office: WAHLAMT,
        keywords: &[
            "Wahlhelfer",
            "Wahlhelferin",
            "Ehrenamt Wahl",
            "Wahlvorstand",
            "Stimmen auszählen",
            "Erfrischungsgeld",
            "Briefwahlvorstand",
        ],
        fees: "Keine Gebühren; Sie erhalten ein Erfrischungsgeld von 50,00 Euro, als Wahlvorsteherin oder Wahlvorsteher 70,00 Euro",
        documents: &[
            "Anmeldeformular mit Name, Anschrift und Kontaktdaten",
            "Angabe des gewünschten Wahlbezirks",
        ],
        intro: "Wahlhelferinnen und Wahlhelfer bilden die Wahlvorstände in den Wahllokalen und die Briefwahlvorstände. Sie prüfen die Wahlberechtigung, geben die Stimmzettel aus und ermitteln nach 18&nbsp;Uhr das Ergebnis. Die Tätigkeit ist ein Ehrenamt, ohne das keine Wahl stattfinden könnte.",
        requirements: "Sie sind für die jeweilige Wahl selbst wahlberechtigt. Vorkenntnisse brauchen Sie nicht. Wer bei der Wahl kandidiert, kann nicht Mitglied eines Wahlvorstands sein.",
        deadlines: "",
        process: "Melden Sie sich online oder beim Wahlamt an. Vor der Wahl laden wir Sie zu einer kurzen Schulung ein und teilen Ihnen Ihren Wahlbezirk mit. Am Wahltag arbeiten Sie meist in einer von zwei Schichten; zur Auszählung ab 18&nbsp;Uhr sind alle anwesend.",
    },
    Spec {
        slug: "einbuergerung",
        title: "Einbürgerung beantragen",
        teaser: "Ausländerinnen und Ausländer, die seit mindestens fünf Jahren rechtmäßig in Deutschland leben, können unter bestimmten Voraussetzungen die deutsche Staatsangehörigkeit erwerben.",
        category: MIGRATION,
        office: ABH,
        keywords: &[
            "Einbürgerung",
            "deutsche Staatsangehörigkeit",
            "deutscher Pass",
            "Einbürgerungstest",
            "Doppelpass",
            "Staatsbürgerschaft",
            "eingebürgert werden",
        ],
        fees: "255,00 Euro; für miteingebürgerte minderjährige Kinder 51,00 Euro",
        documents: &[
            "gültiger Pass und Aufenthaltstitel",
            "Geburtsurkunde und gegebenenfalls Heiratsurkunde mit Übersetzung",
            "Nachweise über Einkommen und Altersvorsorge",
            "Sprachzertifikat mindestens auf Niveau B1 und Bescheinigung über den Einbürgerungstest",
        ],
        intro: "Seit der Reform des Staatsangehörigkeitsrechts im Juni 2024 müssen Sie Ihre bisherige Staatsangehörigkeit bei der Einbürgerung nicht mehr aufgeben. Mehrstaatigkeit ist damit allgemein erlaubt.",
        requirements: "Sie leben seit <strong>mindestens fünf Jahren</strong> rechtmäßig in Deutschland und haben ein dauerhaftes Aufenthaltsrecht. Sie sichern Ihren Lebensunterhalt grundsätzlich ohne Sozialleistungen, sprechen ausreichend Deutsch, kennen die Rechts- und Gesellschaftsordnung und bekennen sich zur freiheitlichen demokratischen Grundordnung. Sie dürfen nicht wegen einer erheblichen Straftat verurteilt worden sein.",
        deadlines: "",
        process: "Reichen Sie den Antrag online ein oder vereinbaren Sie zunächst einen Beratungstermin. Wir prüfen die Unterlagen und holen Auskünfte anderer Behörden ein. Die Bearbeitung dauert derzeit etwa zwölf Monate. Ihre Einbürgerungsurkunde erhalten Sie bei einer feierlichen Übergabe im Rathaus.",
    },
    Spec {
        slug: "aufenthaltstitel",
        title: "Aufenthaltstitel beantragen oder verlängern",
        teaser: "Staatsangehörige aus Ländern außerhalb der EU benötigen für einen längeren Aufenthalt in Deutschland einen Aufenthaltstitel. Zuständig ist die Ausländerbehörde der Stadt.",
        category: MIGRATION,
        office: ABH,
        keywords: &[
            "Aufenthaltstitel",
            "Aufenthaltserlaubnis",
            "Visum verlängern",
            "Niederlassungserlaubnis",
            "Blaue Karte",
            "Ausländerbehörde",
            "Arbeitserlaubnis",
            "eAT",
        ],
        fees: "je nach Titel und Geltungsdauer in der Regel 50,00 bis 147,00 Euro; ermäßigt für Minderjährige",
        documents: &[
            "gültiger Pass",
            "aktuelles biometrisches Passfoto",
            "bisheriger Aufenthaltstitel",
            "Nachweise zum Aufenthaltszweck, zum Beispiel Arbeitsvertrag, Immatrikulationsbescheinigung oder Heiratsurkunde",
            "Nachweis über Krankenversicherung und Einkommen",
        ],
        intro: "Der Aufenthaltstitel wird als elektronische Karte (eAT) ausgestellt und richtet sich nach dem Zweck Ihres Aufenthalts, etwa Arbeit, Studium, Ausbildung oder Familiennachzug. Bürgerinnen und Bürger der EU, des EWR und der Schweiz brauchen keinen Aufenthaltstitel.",
        requirements: "Sie wohnen in Musterstadt, Ihr Lebensunterhalt ist gesichert, und Sie erfüllen die Voraussetzungen für den jeweiligen Aufenthaltszweck.",
        deadlines: "Beantragen Sie die Verlängerung <strong>vor Ablauf</strong> Ihres bisherigen Titels, am besten acht Wochen vorher. Bei rechtzeitigem Antrag erhalten Sie eine Fiktionsbescheinigung; Ihr Aufenthalt gilt dann bis zur Entscheidung als erlaubt.",
        process: "Stellen Sie den Antrag über das Online-Formular der Ausländerbehörde. Anschließend laden wir Sie zu einem Termin ein, bei dem Fingerabdrücke und Unterschrift erfasst werden. Die Karte stellt die Bundesdruckerei her; Sie holen sie nach etwa sechs Wochen ab.",
    },
];
