<?php
/*
 * Generates packages/testing/test/fixtures/ks-vectors.json by running Kaltura's own KS code
 * (kSessionBase, ks / kSessionUtils, KCryptoWrapper, AppTokenService::startSessionAction) under PHP.
 *
 *   php packages/testing/scripts/ks-vectors.php /path/to/kaltura-server [commit] > packages/testing/test/fixtures/ks-vectors.json
 *
 * The argument is a checkout (or `git archive`) of github.com/kaltura/server; nothing of it is copied here. Only the
 * framework around those classes is stubbed below (configuration, cache, database peers, API exceptions), and the
 * clock is pinned through the stubbed `kApiCache::getTime()`. Randomness is made deterministic by seeding PHP's
 * `rand()` (what `kSessionBase::createRandomString` uses) before each generation; the 16 random bytes of every v2
 * KS are then read back from the parsed KS and written to the vector.
 */

// notices and deprecations (e.g. PHP 8.1+ on explode(',', null)) are not fatal on the real server either
error_reporting(E_ALL);
ini_set('display_errors', 'stderr');
ini_set('log_errors', '0');

if ($argc < 2 || !is_dir($argv[1])) {
	fwrite(STDERR, "usage: php ks-vectors.php <kaltura-server checkout> [commit]\n");
	exit(2);
}
$serverRoot = rtrim($argv[1], '/');
$serverCommit = $argv[2] ?? trim((string) @shell_exec('git -C ' . escapeshellarg($serverRoot) . ' rev-parse HEAD 2>/dev/null'));

// ---------------------------------------------------------------------------------------------------------------------
// stubs of the framework around the KS classes
// ---------------------------------------------------------------------------------------------------------------------

const PARTNER_ID = 12345;
const ADMIN_SECRET = '0123456789abcdef0123456789abcdef';
const SECONDARY_ADMIN_SECRET = 'fedcba9876543210fedcba9876543210';
const USER_SECRET = '00112233445566778899aabbccddeeff';
const NOW = 1700000000;
const TOKEN_ID = '0_abcd1234';
const TOKEN = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

class kConf
{
	public static function get($name, $map = null, $default = null)
	{
		// one partner-secrets cache section that is never configured: the secrets come from PartnerPeer
		if ($name === 'mapping' && $map === 'cache')
			return array('partnerSecrets' => 'vectors');
		return $default;
	}
}

class KalturaLog
{
	public static function __callStatic($name, $arguments)
	{
	}
}

class Partner
{
	const VALIDATE_LKS_DISABLED = -10;
}

class SessionType
{
	const USER = 0;
	const ADMIN = 2;
}

class AppTokenStatus
{
	const ACTIVE = 2;
}

class kApiCache
{
	public static $now = NOW;

	public static function getTime()
	{
		return self::$now;
	}
}

class StubPartner
{
	public $adminSecrets;
	public $secret;
	public $ksVersion;

	public function __construct(array $adminSecrets, $secret, $ksVersion)
	{
		$this->adminSecrets = $adminSecrets;
		$this->secret = $secret;
		$this->ksVersion = $ksVersion;
	}

	public function getAdminSecret() { return $this->adminSecrets[0]; }
	public function getSecret() { return $this->secret; }
	public function getKSVersion() { return $this->ksVersion; }
	public function getAllAdminSecretsAsString() { return implode(',', $this->adminSecrets); }
	public function getEnforceHttpsApi() { return false; }
	public function getId() { return PARTNER_ID; }
	public function getKsMaxExpiryInSeconds() { return 86400; }

	// Partner::validateSecret: the primary or an enabled additional admin secret, or the user secret for a USER KS
	public function validateSecret($secret, $partnerKey, &$ksMaxExpiry, $admin = false)
	{
		if (in_array($secret, $this->adminSecrets, true) || (!$admin && $secret === $this->secret))
		{
			$ksMaxExpiry = $ksMaxExpiry ? min($ksMaxExpiry, 86400) : 86400;
			return true;
		}
		return -1;
	}
}

class PartnerPeer
{
	public static $partners = array();

	public static function retrieveByPK($id)
	{
		return self::$partners[(string) $id] ?? null;
	}
}

class myPartnerUtils
{
	public static function isValidSecret($partnerId, $secret, $partnerKey, &$ksMaxExpiry, $admin = SessionType::USER)
	{
		$partner = PartnerPeer::retrieveByPK($partnerId);
		return $partner ? $partner->validateSecret($secret, $partnerKey, $ksMaxExpiry, $admin) : -1;
	}
}

class StubAppToken
{
	public $fields;

	public function __construct(array $fields) { $this->fields = $fields; }
	public function getStatus() { return AppTokenStatus::ACTIVE; }
	public function calcHash() { return hash('sha1', kCurrentContext::$ks . TOKEN); }
	public function getSessionDuration() { return $this->fields['sessionDuration'] ?? 86400; }
	public function getExpiry() { return null; }
	public function getSessionType() { return $this->fields['sessionType'] ?? null; }
	public function getSessionUserId() { return $this->fields['sessionUserId'] ?? null; }
	public function getSessionPrivileges() { return $this->fields['sessionPrivileges'] ?? null; }
}

class AppTokenPeer
{
	public static $token = null;

	public static function retrieveByPK($id)
	{
		return $id === TOKEN_ID ? self::$token : null;
	}
}

class kCurrentContext
{
	public static $ks = '';

	public static function getCurrentPartnerId() { return PARTNER_ID; }
}

class KalturaResponseCacher
{
	public static function disableCache() {}
}

class KalturaErrors
{
	const APP_TOKEN_ID_NOT_FOUND = 'APP_TOKEN_ID_NOT_FOUND';
	const APP_TOKEN_NOT_ACTIVE = 'APP_TOKEN_NOT_ACTIVE';
	const INVALID_APP_TOKEN_HASH = 'INVALID_APP_TOKEN_HASH';
	const APP_TOKEN_EXPIRED = 'APP_TOKEN_EXPIRED';
}

class APIErrors
{
	const START_SESSION_ERROR = 'START_SESSION_ERROR';
}

class KalturaAPIException extends Exception
{
	public function __construct($code, ...$args) { parent::__construct($code); }
}

class KalturaSessionInfo
{
	public $ks;
	public $sessionType;
	public $partnerId;
	public $userId;
	public $expiry;
	public $privileges;
}

class KalturaBaseService
{
}

require_once "$serverRoot/alpha/apps/kaltura/lib/request/kSessionBase.class.php";
require_once "$serverRoot/alpha/apps/kaltura/lib/webservices/kSessionUtils.class.php";
require_once "$serverRoot/api_v3/services/AppTokenService.php";

// ---------------------------------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------------------------------

function usePartner(array $adminSecrets, $ksVersion)
{
	PartnerPeer::$partners = array((string) PARTNER_ID => new StubPartner($adminSecrets, USER_SECRET, $ksVersion));
}

/** The 16 bytes `createRandomString()` draws after `srand($seed)`. */
function seededRandom($seed)
{
	srand($seed);
	$bytes = '';
	for ($i = 0; $i < 16; $i++)
		$bytes .= chr(rand(0, 0xff));
	return $bytes;
}

/** Runs `$generate` with `rand()` seeded by `$seed` and the clock inside one second (retrying across a tick). */
function deterministic($seed, callable $generate)
{
	for (;;)
	{
		$before = time();
		srand($seed);
		$result = $generate($before);
		if (time() === $before)
			return $result;
	}
}

/** `ks::fromSecureString` with the partner's secrets: the KS members, `false` (rejected), `null` (no KS) or the error. */
function parseKs($ksString)
{
	try
	{
		$ks = ks::fromSecureString($ksString);
	}
	catch (Throwable $e)
	{
		if ($e instanceof Exception && $e->getMessage() === 'INVALID_STR')
			return false;
		return array('error' => get_class($e));
	}
	if ($ks === null)
		return null;
	return array(
		'version' => substr(base64_decode(strtr($ksString, '-_', '+/')), 0, 3) === 'v2|' ? 2 : 1,
		'partnerId' => $ks->partner_id,
		'validUntil' => $ks->valid_until,
		'type' => $ks->type,
		'userId' => $ks->user,
		'privileges' => $ks->privileges,
		'masterPartnerId' => $ks->master_partner_id,
		'additionalData' => $ks->additional_data,
		'rand' => $ks->rand,
		'hash' => $ks->getHash(),
		'widgetSession' => $ks->isWidgetSession(),
	);
}

/**
 * The 16 random bytes of a v2 KS (hex), as the fake's generator takes them: read back from the parsed KS, or, when
 * PHP cannot parse it, the ones `rand()` gave after `srand($seed)` (checked to agree whenever both are known).
 */
function randomOf($decoded, $seed, $privileges)
{
	$seeded = strpos((string) $privileges, 'downloadasset') === false ? bin2hex(seededRandom($seed)) : null;
	$parsed = isset($decoded['rand']) ? $decoded['rand'] : null;
	if ($parsed !== null && $seeded !== null && $parsed !== $seeded)
		throw new Exception("the random part read back is not the seeded one");
	return $parsed ?? $seeded;
}

// ---------------------------------------------------------------------------------------------------------------------
// kSessionBase::generateSession / generateKsV1 / generateKsV2
// ---------------------------------------------------------------------------------------------------------------------

$generateCases = array(
	// ordinary KSs
	array('name' => 'widget', 'privileges' => 'view:*,widget:1', 'userId' => '0', 'type' => 0, 'expiry' => 86400),
	array('name' => 'app token admin', 'privileges' => 'sessionid:0_abcd1234,apptoken:0_abcd1234,setrole:123', 'userId' => '', 'type' => 2, 'expiry' => 3600),
	array('name' => 'no user field', 'privileges' => '', 'userId' => null, 'type' => 2, 'expiry' => 600),
	array('name' => 'master partner and additional data', 'privileges' => 'view:*', 'userId' => 'user@example.com', 'type' => 2, 'expiry' => 86400, 'masterPartnerId' => '100', 'additionalData' => 'extra data&more=1'),
	array('name' => 'values urlencoded', 'privileges' => 'privacycontext:a b,edit:0_ü/1_%,searchcontext:x=y&z,limitentry:~-_.', 'userId' => 'a+b c/ü', 'type' => 0, 'expiry' => 86400),
	array('name' => 'repeated name: the last value at the first position', 'privileges' => 'edit:1,view:2,edit:3', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'empty value and value with colons', 'privileges' => 'b:,a:b:c,list', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'numeric names', 'privileges' => '5:a,7:b,05:c', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'only separators and blanks', 'privileges' => ' , ,', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'a privilege named _e is overwritten by the expiry', 'privileges' => '_e:5,view:1', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'a privilege named _u is dropped when there is no user', 'privileges' => '_u:x,view:1', 'userId' => null, 'type' => 2, 'expiry' => 86400),
	array('name' => 'privileges named _m and _d are dropped without master partner and additional data', 'privileges' => '_m:9,_d:8,view:1', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	// 1. `*` privileges
	array('name' => 'star alone reads back as star', 'privileges' => '*', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'all:* alone reads back as star', 'privileges' => 'all:*', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'star first with another privilege reads back as all:*', 'privileges' => '*,disableentitlement', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'star last with another privilege reads back as all:*', 'privileges' => 'disableentitlement,*', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'star twice reads back as star', 'privileges' => '*,*', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	// 4. downloadasset
	array('name' => 'downloadasset rounds the expiry up to a multiple of 300 s and seeds the random part with it', 'privileges' => 'downloadasset:0_x', 'userId' => '', 'type' => 0, 'expiry' => 86401),
	array('name' => 'downloadasset on a multiple of 300 s: the same KS as one second past the previous multiple', 'privileges' => 'downloadasset:0_x', 'userId' => '', 'type' => 0, 'expiry' => 86500),
	array('name' => 'downloadasset one second past a multiple of 300 s', 'privileges' => 'downloadasset:0_x', 'userId' => '', 'type' => 0, 'expiry' => 86501),
	array('name' => 'downloadasset anywhere in the string', 'privileges' => 'view:*,mydownloadassets', 'userId' => '', 'type' => 0, 'expiry' => 3599),
	// 5. names with dots and spaces
	array('name' => 'dots and spaces in names become underscores', 'privileges' => 'a.b:1,c d:2,e. f:3.4 5', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	// 6. generation edge cases
	array('name' => 'a privilege "0" is skipped', 'privileges' => 'view:*,0,edit:1, 0 ', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'privileges "0:x" and "00" are kept', 'privileges' => '0:x,00', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'no-break space is not trimmed', 'privileges' => "\u{a0}view:1\u{a0},edit:2", 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'PHP trim characters', 'privileges' => " \tview:1\n,\x0bedit:2\0,\r\nlist:3 ", 'userId' => '', 'type' => 2, 'expiry' => 86400),
	// 8. brackets
	array('name' => 'brackets in a name: parse_str makes an array', 'privileges' => 'a[b]:c', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'empty brackets in a name', 'privileges' => 'view:*,a[]:1', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'an unclosed bracket becomes an underscore', 'privileges' => 'a[b:1,c.d[e f:2', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'a closing bracket alone is kept', 'privileges' => 'a]:1', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'brackets after an empty name', 'privileges' => 'view:*,[x]:1', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	// 9. smaller ones
	array('name' => 'widget:1 as a substring makes a widget session', 'privileges' => 'xwidget:1', 'userId' => '', 'type' => 0, 'expiry' => 86400),
	array('name' => 'widget:10 makes a widget session', 'privileges' => 'view:*,widget:10', 'userId' => '0', 'type' => 0, 'expiry' => 86400),
	array('name' => 'widget:1 with a named user is not a widget session', 'privileges' => 'view:*,widget:1', 'userId' => 'someone', 'type' => 0, 'expiry' => 86400),
	array('name' => 'widget:1 with no user field is a widget session', 'privileges' => 'view:*,widget:1', 'userId' => null, 'type' => 0, 'expiry' => 86400),
	array('name' => 'an empty name is dropped by parse_str', 'privileges' => 'view:*,:x,=:y', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'a leading form feed is kept', 'privileges' => "\x0cview:1", 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'a NUL inside a name cuts it', 'privileges' => "ab\0cd:1,view:2", 'userId' => '', 'type' => 2, 'expiry' => 86400),
	// KS v1
	array('name' => 'v1 widget', 'version' => 1, 'rand' => '1700000000.1234', 'privileges' => 'view:*,widget:1', 'userId' => '0', 'type' => 0, 'expiry' => 86400),
	array('name' => 'v1 master partner and additional data, no user', 'version' => 1, 'rand' => '1700000000.5', 'privileges' => 'view:*', 'userId' => null, 'type' => 2, 'expiry' => 86400, 'masterPartnerId' => '100', 'additionalData' => 'extra'),
	array('name' => 'v1 keeps the privileges as written', 'version' => 1, 'rand' => '1700000000.25', 'privileges' => '*,disableentitlement, a.b:1,0,a[b]:c', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'v1 star', 'version' => 1, 'rand' => '1700000000', 'privileges' => '*', 'userId' => '', 'type' => 2, 'expiry' => 86400),
	array('name' => 'v1 downloadasset', 'version' => 1, 'privileges' => 'downloadasset:0_x', 'userId' => '', 'type' => 0, 'expiry' => 86401),
);

usePartner(array(ADMIN_SECRET), 2);
$generate = array();
foreach ($generateCases as $index => $case)
{
	$version = $case['version'] ?? 2;
	$master = $case['masterPartnerId'] ?? null;
	$additional = $case['additionalData'] ?? null;
	$expiresAt = NOW + $case['expiry'];
	$seed = 1000 + $index;
	$ksString = deterministic($seed, function ($now) use ($case, $version, $master, $additional, $expiresAt) {
		if ($version === 1 && isset($case['rand']))
			return kSessionBase::generateKsV1(ADMIN_SECRET, $case['userId'], $case['type'], PARTNER_ID, $expiresAt, $case['privileges'], $master, $additional, $case['rand']);
		return kSessionBase::generateSession($version, ADMIN_SECRET, $case['userId'], $case['type'], PARTNER_ID, $expiresAt - $now, $case['privileges'], $master, $additional);
	});
	$decoded = parseKs($ksString);
	$random = $version === 2 ? randomOf($decoded, $seed, $case['privileges']) : null;
	$generate[] = array(
		'name' => $case['name'],
		'version' => $version,
		'partnerId' => PARTNER_ID,
		'adminSecret' => ADMIN_SECRET,
		'expiresAt' => $expiresAt,
		'type' => $case['type'],
		'userId' => $case['userId'],
		'privileges' => $case['privileges'],
		'masterPartnerId' => $master,
		'additionalData' => $additional,
		'random' => $random,
		'rand' => $version === 1 ? ($case['rand'] ?? null) : null,
		'ks' => $ksString,
		'decoded' => $decoded,
	);
}

// ---------------------------------------------------------------------------------------------------------------------
// session.start: kSessionUtils::startKSession, ks::toSecureString
// ---------------------------------------------------------------------------------------------------------------------

$sessionStartCases = array(
	array('name' => 'ADMIN with the secondary admin secret: encrypted with that secret', 'secret' => SECONDARY_ADMIN_SECRET, 'type' => 2, 'privileges' => 'view:*'),
	array('name' => 'ADMIN with the primary admin secret', 'secret' => ADMIN_SECRET, 'type' => 2, 'privileges' => 'view:*'),
	array('name' => 'USER with the secondary admin secret: encrypted with the primary one', 'secret' => SECONDARY_ADMIN_SECRET, 'type' => 0, 'privileges' => 'view:*'),
	array('name' => 'USER with the user secret: encrypted with the primary admin secret', 'secret' => USER_SECRET, 'type' => 0, 'privileges' => ''),
	array('name' => 'downloadasset, first call', 'secret' => ADMIN_SECRET, 'type' => 2, 'privileges' => 'downloadasset:0_x', 'now' => NOW + 10),
	array('name' => 'downloadasset, a later call in the same five minutes', 'secret' => ADMIN_SECRET, 'type' => 2, 'privileges' => 'downloadasset:0_x', 'now' => NOW + 80),
	array('name' => 'downloadasset with the secondary admin secret', 'secret' => SECONDARY_ADMIN_SECRET, 'type' => 2, 'privileges' => 'downloadasset:0_x', 'now' => NOW + 10),
);

$sessionStart = array();
foreach ($sessionStartCases as $index => $case)
{
	usePartner(array(ADMIN_SECRET, SECONDARY_ADMIN_SECRET), 2);
	kApiCache::$now = $case['now'] ?? NOW;
	$seed = 2000 + $index;
	$ksString = deterministic($seed, function () use ($case) {
		$ks = '';
		$result = kSessionUtils::startKSession(PARTNER_ID, $case['secret'], 'user1', $ks, 3600, $case['type'], '', $case['privileges']);
		if ($result < 0)
			throw new Exception("session.start failed for '{$case['name']}'");
		return $ks;
	});
	$decoded = parseKs($ksString);
	$encryptedWith = null;
	foreach (array(ADMIN_SECRET, SECONDARY_ADMIN_SECRET) as $candidate)
	{
		usePartner(array($candidate), 2);
		if (isset(parseKs($ksString)['partnerId']))
		{
			$encryptedWith = $candidate;
			break;
		}
	}
	$sessionStart[] = array(
		'name' => $case['name'],
		'partnerId' => PARTNER_ID,
		'adminSecrets' => array(ADMIN_SECRET, SECONDARY_ADMIN_SECRET),
		'userSecret' => USER_SECRET,
		'now' => kApiCache::$now,
		'secret' => $case['secret'],
		'type' => $case['type'],
		'userId' => 'user1',
		'expiry' => 3600,
		'privileges' => $case['privileges'],
		'random' => randomOf($decoded, $seed, $case['privileges']),
		'ks' => $ksString,
		'encryptedWith' => $encryptedWith,
		'decoded' => $decoded,
	);
}
kApiCache::$now = NOW;

// ---------------------------------------------------------------------------------------------------------------------
// appToken.startSession: AppTokenService::startSessionAction
// ---------------------------------------------------------------------------------------------------------------------

$appTokenCases = array(
	array('name' => 'no privileges'),
	array('name' => 'an empty value is none, then a requested star', 'tokenPrivileges' => 'a,b:', 'sessionPrivileges' => '*'),
	array('name' => 'an empty item survives', 'tokenPrivileges' => 'view:*,,edit'),
	array('name' => 'a numeric name is renumbered', 'tokenPrivileges' => '5:a'),
	array('name' => 'numeric names are renumbered in order, values merged', 'tokenPrivileges' => '5:a,7:b,5:c,05:d'),
	array('name' => 'a requested numeric name is kept, a renumbered one is held', 'tokenPrivileges' => '5:x', 'sessionPrivileges' => '5:a,0:y'),
	array('name' => 'held names compare loosely (numeric strings)', 'tokenPrivileges' => '10:x', 'sessionPrivileges' => '0.0:y,1e0:z'),
	array('name' => 'token privilege apptoken with an empty value', 'tokenPrivileges' => 'apptoken:'),
	array('name' => 'token privilege apptoken with a value', 'tokenPrivileges' => 'apptoken:x,sessionid:y'),
	array('name' => 'token privileges "0" are ignored', 'tokenPrivileges' => '0'),
	array('name' => 'requested privileges "0" are ignored', 'sessionPrivileges' => '0'),
	array('name' => 'server privileges and held names are not added, a held star is narrowed', 'tokenPrivileges' => 'edit:1_a,edit:1_b,list:*', 'sessionPrivileges' => 'view:*,edit:2_c,list:1_z,sessionid:evil,setrole:9,privacycontext:x,custom'),
	array('name' => 'names are trimmed only for the held check', 'tokenPrivileges' => ' view:1', 'sessionPrivileges' => 'view:2, custom:1, edit:3'),
	array('name' => 'a held sessionid star lets the request replace it', 'tokenPrivileges' => 'sessionid:*', 'sessionPrivileges' => 'sessionid:evil'),
	array('name' => 'a requested star next to others', 'sessionPrivileges' => 'view:*,*'),
	array('name' => 'a token star is held', 'tokenPrivileges' => '*', 'sessionPrivileges' => '*,custom:1'),
	array('name' => 'requested names with dots and spaces', 'sessionPrivileges' => 'a.b:1,c d:2'),
	array('name' => 'requested empty values and items', 'sessionPrivileges' => 'x:,,y:/,z'),
	array('name' => 'token downloadasset: the KS expiry is rounded, the response expiry is not', 'tokenPrivileges' => 'downloadasset:0_x'),
	array('name' => 'token brackets in a name', 'tokenPrivileges' => 'a[b]:c'),
	array('name' => 'ADMIN token with a user', 'sessionType' => 2, 'sessionUserId' => 'admin@example.com', 'tokenPrivileges' => 'disableentitlement'),
	array('name' => 'requested type and user', 'type' => 2, 'userId' => 'someone', 'sessionPrivileges' => 'view:*'),
	array('name' => 'requested expiry shorter than the session duration', 'expiry' => 600, 'sessionPrivileges' => 'view:*'),
);

usePartner(array(ADMIN_SECRET), 2);
$appTokenStartSession = array();
foreach ($appTokenCases as $index => $case)
{
	AppTokenPeer::$token = new StubAppToken(array(
		'sessionPrivileges' => $case['tokenPrivileges'] ?? null,
		'sessionType' => $case['sessionType'] ?? null,
		'sessionUserId' => $case['sessionUserId'] ?? null,
		'sessionDuration' => 86400,
	));
	kCurrentContext::$ks = 'widget-ks';
	$seed = 3000 + $index;
	$info = deterministic($seed, function () use ($case) {
		$service = new AppTokenService();
		return $service->startSessionAction(
			TOKEN_ID,
			hash('sha1', kCurrentContext::$ks . TOKEN),
			$case['userId'] ?? '',
			$case['type'] ?? null,
			$case['expiry'] ?? null,
			$case['sessionPrivileges'] ?? null
		);
	});
	$decoded = parseKs($info->ks);
	$appTokenStartSession[] = array(
		'name' => $case['name'],
		'partnerId' => PARTNER_ID,
		'adminSecret' => ADMIN_SECRET,
		'now' => NOW,
		'token' => array(
			'id' => TOKEN_ID,
			'sessionPrivileges' => $case['tokenPrivileges'] ?? null,
			'sessionType' => $case['sessionType'] ?? null,
			'sessionUserId' => $case['sessionUserId'] ?? null,
			'sessionDuration' => 86400,
		),
		'request' => array(
			'userId' => $case['userId'] ?? null,
			'type' => $case['type'] ?? null,
			'expiry' => $case['expiry'] ?? null,
			'sessionPrivileges' => $case['sessionPrivileges'] ?? null,
		),
		'random' => randomOf($decoded, $seed, $info->privileges),
		'response' => array(
			'ks' => $info->ks,
			'sessionType' => $info->sessionType,
			'partnerId' => $info->partnerId,
			'userId' => $info->userId,
			'expiry' => $info->expiry,
			'privileges' => $info->privileges,
		),
		'decoded' => $decoded,
	);
}

// ---------------------------------------------------------------------------------------------------------------------
// parseKS on strings as they may be sent: whitespace, padding, alphabets, wrong secrets
// ---------------------------------------------------------------------------------------------------------------------

$widgetV2 = $generate[0]['ks'];
$adminV2 = $generate[1]['ks'];
$widgetV1 = $generate[array_search('v1 widget', array_column($generate, 'name'))]['ks'];
$padded = null;
foreach ($generate as $vector)
{
	if ($vector['version'] === 2 && substr($vector['ks'], -2) === '==')
	{
		$padded = $vector['ks'];
		break;
	}
}
$urlSafe = null;
foreach ($generate as $vector)
{
	if ($vector['version'] === 2 && strpbrk($vector['ks'], '-_') !== false)
	{
		$urlSafe = $vector['ks'];
		break;
	}
}

$parseCases = array(
	array('name' => 'v2 with a trailing LF', 'ks' => "$widgetV2\n"),
	array('name' => 'v2 with a trailing CRLF', 'ks' => "$widgetV2\r\n"),
	array('name' => 'v2 with a leading space', 'ks' => " $widgetV2"),
	array('name' => 'v2 with an LF inside', 'ks' => substr($widgetV2, 0, 20) . "\n" . substr($widgetV2, 20)),
	array('name' => 'v2 with a tab and spaces around', 'ks' => "\t $adminV2 \t"),
	array('name' => 'v2 with whitespace after the padding', 'ks' => "$padded \n"),
	array('name' => 'v2 with a trailing vertical tab', 'ks' => "$widgetV2\x0b"),
	array('name' => 'v2 with a trailing form feed', 'ks' => "$widgetV2\x0c"),
	array('name' => 'v2 with a trailing NUL', 'ks' => "$widgetV2\0"),
	array('name' => 'v2 without its padding', 'ks' => rtrim($padded, '=')),
	array('name' => 'v2 with one padding character removed', 'ks' => substr($padded, 0, -1)),
	array('name' => 'v2 with an extra padding character', 'ks' => "$padded="),
	array('name' => 'v2 with data after the padding', 'ks' => $padded . 'AAAA'),
	array('name' => 'v2 truncated to one character past a group', 'ks' => substr(rtrim($padded, '='), 0, 4 * intdiv(strlen(rtrim($padded, '=')), 4) + 1)),
	array('name' => 'v2 in the standard base64 alphabet', 'ks' => strtr($urlSafe, '-_', '+/')),
	array('name' => 'v2 with a tampered byte', 'ks' => substr($widgetV2, 0, 30) . ($widgetV2[30] === 'A' ? 'B' : 'A') . substr($widgetV2, 31)),
	array('name' => 'v1 with a trailing LF', 'ks' => "$widgetV1\n"),
	array('name' => 'v1 with CRLFs inside', 'ks' => chunk_split($widgetV1, 76, "\r\n")),
	array('name' => 'v1 in the url-safe alphabet', 'ks' => strtr($widgetV1, '+/', '-_')),
	array('name' => 'v1 with fewer than three fields', 'ks' => base64_encode(sha1(ADMIN_SECRET . '12345;12345') . '|12345;12345')),
	array('name' => 'v1 with exactly three fields', 'ks' => base64_encode(sha1(ADMIN_SECRET . '12345;12345;1700086400') . '|12345;12345;1700086400')),
	array('name' => 'v1 with seven fields', 'ks' => base64_encode(sha1(ADMIN_SECRET . '12345;12345;1700086400;2;r;u;view:*') . '|12345;12345;1700086400;2;r;u;view:*')),
	array('name' => 'v1 with an upper-case signature', 'ks' => base64_encode(strtoupper(sha1(ADMIN_SECRET . '12345;12345;1700086400;2;r;u;view:*')) . '|12345;12345;1700086400;2;r;u;view:*')),
	array('name' => 'not base64', 'ks' => 'not base64!'),
	array('name' => 'empty', 'ks' => ''),
	array('name' => 'zero', 'ks' => '0'),
	array('name' => 'base64 of zero', 'ks' => 'MA=='),
);

$parse = array();
usePartner(array(ADMIN_SECRET), 2);
foreach ($parseCases as $case)
	$parse[] = array('name' => $case['name'], 'adminSecrets' => array(ADMIN_SECRET), 'ks' => $case['ks'], 'decoded' => parseKs($case['ks']));
foreach (array('v2 with another secret' => $widgetV2, 'v1 with another secret' => $widgetV1) as $name => $ksString)
{
	usePartner(array('another-secret'), 2);
	$parse[] = array('name' => $name, 'adminSecrets' => array('another-secret'), 'ks' => $ksString, 'decoded' => parseKs($ksString));
}
foreach (array('v2 with the secret second' => $widgetV2, 'v1 with the secret second' => $widgetV1) as $name => $ksString)
{
	usePartner(array('old-secret', ADMIN_SECRET), 2);
	$parse[] = array('name' => $name, 'adminSecrets' => array('old-secret', ADMIN_SECRET), 'ks' => $ksString, 'decoded' => parseKs($ksString));
}
PartnerPeer::$partners = array();
$parse[] = array('name' => 'v2 of an unknown partner', 'adminSecrets' => null, 'ks' => $widgetV2, 'decoded' => parseKs($widgetV2));

// ---------------------------------------------------------------------------------------------------------------------
// AppToken::calcHash: hash(type, ks . token) over the KS exactly as sent
// ---------------------------------------------------------------------------------------------------------------------

$appTokenHash = array();
foreach (array($widgetV2, "$widgetV2\n", "$widgetV2\r\n", " $widgetV1") as $ksString)
	foreach (array('MD5', 'SHA1', 'SHA256', 'SHA512') as $hashType)
		$appTokenHash[] = array('hashType' => $hashType, 'ks' => $ksString, 'token' => TOKEN, 'hash' => hash(strtolower($hashType), $ksString . TOKEN));

echo json_encode(array(
	'generatedBy' => array(
		'script' => 'packages/testing/scripts/ks-vectors.php',
		'php' => PHP_VERSION,
		'kalturaServerCommit' => $serverCommit,
	),
	'generate' => $generate,
	'sessionStart' => $sessionStart,
	'appTokenStartSession' => $appTokenStartSession,
	'parse' => $parse,
	'appTokenHash' => $appTokenHash,
), JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR), "\n";
