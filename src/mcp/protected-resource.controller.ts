import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/decorators';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { ZodResponse } from '../openapi/contract';
import {
  type ProtectedResourceMetadata,
  ROOT_RESOURCE_METADATA_PATH,
  RESOURCE_METADATA_PATH,
  metadataOf,
  protectedResourceMetadata,
} from './protected-resource';

/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728) of /mcp: public, so a client that got a 401
 * learns where to get a token. Served at the path RFC 9728 derives from `PUBLIC_URL/mcp` and at
 * the bare path, which clients that drop the resource's path ask for.
 */
@ApiTags('mcp')
@Public()
@Controller()
export class ProtectedResourceController {
  private readonly metadata: ProtectedResourceMetadata;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.metadata = metadataOf(config.publicUrl);
  }

  @Get(RESOURCE_METADATA_PATH)
  @Header('Cache-Control', 'public, max-age=3600')
  @Header('Access-Control-Allow-Origin', '*')
  @ApiOperation({
    operationId: 'getMcpResourceMetadata',
    summary: 'The protected resource metadata of /mcp (RFC 9728)',
  })
  @ZodResponse(200, protectedResourceMetadata)
  forMcp(): ProtectedResourceMetadata {
    return this.metadata;
  }

  @Get(ROOT_RESOURCE_METADATA_PATH)
  @Header('Cache-Control', 'public, max-age=3600')
  @Header('Access-Control-Allow-Origin', '*')
  @ApiOperation({
    operationId: 'getResourceMetadata',
    summary: 'The same metadata at the bare well-known path',
  })
  @ZodResponse(200, protectedResourceMetadata)
  atRoot(): ProtectedResourceMetadata {
    return this.metadata;
  }
}
